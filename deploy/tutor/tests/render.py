"""Renders the plugin for a `local` and a `k8s` site and prints what it produced, as JSON.

    python3 deploy/tutor/tests/render.py [--set KEY=VALUE ...]
        Without Tutor: the plugin is loaded against a recorder of Tutor's hooks and its templates are
        rendered with Jinja2 as Tutor's renderer does (StrictUndefined, Tutor's filters, `patch()`),
        over Tutor's defaults for the settings they read. Needs python3-jinja2 only.
    python3 deploy/tutor/tests/render.py --tutor [--set KEY=VALUE ...]
        With Tutor itself importable (its source on PYTHONPATH): the plugin is loaded as Tutor loads
        plugins, and Tutor renders its own docker-compose, jobs, Kubernetes and Caddy files with it.

The JSON: {"mode", "config", "env_files": {name: text}, "patches": {name: text}, "tasks": [[service,
script]], "dockerfile", "files": {path: text} (Tutor's own files, --tutor only)}. The workspace's
tutor-plugin.spec.ts reads it; it asserts, this script does not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import sys
import types
from base64 import urlsafe_b64encode

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN_ROOT = os.path.dirname(HERE)
sys.path.insert(0, PLUGIN_ROOT)

ENV_FILES = ["common", "lms-client", "groups-service", "legacy-sync-service", "evaluator-service", "migrator"]


def parse_sets(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        values[key] = json.loads(value) if value in ("true", "false") or value.isdigit() else value
    return values


def with_tutor(sets: dict) -> dict:
    import tutor.commands.cli  # noqa: F401  (registers the core hooks, as the CLI does)
    from tutor import config as tutor_config
    from tutor import env, hooks

    hooks.Actions.CORE_READY.do()
    with hooks.Contexts.PLUGINS.enter():
        with hooks.Contexts.app("groups-sync").enter():
            import tutorgroupssync.plugin  # noqa: F401
            hooks.Filters.PLUGINS_LOADED.add_item("groups-sync")
    hooks.Actions.PLUGINS_LOADED.do()
    config: dict = {}
    tutor_config.update_with_base(config)
    tutor_config.update_with_defaults(config)
    config.update(sets)
    tutor_config.render_full(config)
    renderer = env.Renderer(config)
    patches = {
        name: renderer.patch(name)
        for name in sorted(os.listdir(os.path.join(PLUGIN_ROOT, "tutorgroupssync", "patches")))
    }
    files = {
        path: env.render_file(config, *path.split("/"))
        for path in [
            "local/docker-compose.yml",
            "local/docker-compose.jobs.yml",
            "k8s/deployments.yml",
            "k8s/services.yml",
            "k8s/jobs.yml",
            "k8s/volumes.yml",
            "kustomization.yml",
            "apps/caddy/Caddyfile",
        ]
    }
    tasks = [
        [service, env.render_str(config, task)]
        for service, task in hooks.Filters.CLI_DO_INIT_TASKS.iterate_from_context(
            hooks.Contexts.app("groups-sync").name
        )
    ]
    return {
        "mode": "tutor",
        "tutor_version": __import__("tutor.__about__", fromlist=["__version__"]).__version__,
        "config": {k: v for k, v in config.items() if isinstance(v, (str, int, bool))},
        "env_files": {
            name: renderer.render_template(f"groups-sync/apps/config/{name}.env") for name in ENV_FILES
        },
        "patches": patches,
        "tasks": tasks,
        "dockerfile": renderer.render_template("groups-sync/build/groups-sync/Dockerfile"),
        "files": files,
    }


# ---- Without Tutor: what the plugin declares, recorded; rendered as Tutor renders it. ----


class _Filter:
    def __init__(self) -> None:
        self.items: list = []
        self.callbacks: list = []

    def add_item(self, item) -> None:
        self.items.append(item)

    def add_items(self, items) -> None:
        self.items.extend(items)

    def add(self):
        def register(func):
            self.callbacks.append(func)
            return func

        return register


def _record_plugin(mfe: bool = False) -> types.SimpleNamespace:
    filters = types.SimpleNamespace(
        **{
            name: _Filter()
            for name in [
                "CONFIG_DEFAULTS",
                "CONFIG_UNIQUE",
                "CONFIG_OVERRIDES",
                "CLI_DO_INIT_TASKS",
                "IMAGES_BUILD",
                "IMAGES_PULL",
                "IMAGES_PUSH",
                "ENV_TEMPLATE_ROOTS",
                "ENV_TEMPLATE_TARGETS",
                "ENV_PATCHES",
                "APP_PUBLIC_HOSTS",
            ]
        }
    )
    tutor = types.ModuleType("tutor")
    tutor.hooks = types.SimpleNamespace(Filters=filters)  # type: ignore[attr-defined]
    sys.modules["tutor"] = tutor
    sys.modules["tutor.hooks"] = tutor.hooks  # type: ignore[assignment]
    if mfe:
        # Tutor's MFE plugin installed: its MFE_APPS filter, recorded like Tutor's own.
        filters.MFE_APPS = _Filter()
        tutormfe = types.ModuleType("tutormfe")
        tutormfe.hooks = types.SimpleNamespace(MFE_APPS=filters.MFE_APPS)  # type: ignore[attr-defined]
        sys.modules["tutormfe"] = tutormfe
        sys.modules["tutormfe.hooks"] = tutormfe.hooks  # type: ignore[assignment]
    else:
        sys.modules["tutormfe"] = None  # type: ignore[assignment]  (import fails, as without tutor-mfe)
    if "importlib_resources" not in sys.modules:
        try:
            import importlib_resources  # noqa: F401
        except ImportError:
            import importlib.resources

            sys.modules["importlib_resources"] = importlib.resources
    import tutorgroupssync.plugin  # noqa: F401

    return filters


# Tutor's defaults (tutor/templates/config/defaults.yml, base.yml; v21) for the settings the plugin reads.
TUTOR_DEFAULTS = {
    "DOCKER_REGISTRY": "docker.io/",
    "LMS_HOST": "local.openedx.io",
    "ENABLE_HTTPS": False,
    "MYSQL_HOST": "mysql",
    "MYSQL_PORT": 3306,
    "MYSQL_ROOT_USERNAME": "root",
    "OPENEDX_MYSQL_DATABASE": "openedx",
    "REDIS_HOST": "redis",
    "REDIS_PORT": 6379,
    "REDIS_USERNAME": "",
    "REDIS_PASSWORD": "",
    "RUN_MYSQL": True,
    "RUN_REDIS": True,
    "JWT_COMMON_AUDIENCE": "openedx",
    "JWT_COMMON_ISSUER": "{% if ENABLE_HTTPS %}https{% else %}http{% endif %}://{{ LMS_HOST }}/oauth2",
    "JWT_COMMON_SECRET_KEY": "{{ OPENEDX_SECRET_KEY }}",
    "MYSQL_ROOT_PASSWORD": "{{ 8|random_string }}",
    "OPENEDX_SECRET_KEY": "{{ 24|random_string }}",
}


def _rsa_private_key_pem() -> str:
    """A 2048-bit RSA key as Tutor's `rsa_private_key` filter makes one (PKCS#1 PEM), via openssl."""
    import subprocess

    return subprocess.run(
        ["openssl", "genrsa", "-traditional", "2048"], check=True, capture_output=True, text=True
    ).stdout.strip()


def _rsa_import_key(pem: str) -> types.SimpleNamespace:
    """n and e of a PKCS#1 RSA private key (DER: SEQUENCE of INTEGERs version, n, e, ...)."""
    import base64

    der = base64.b64decode("".join(l for l in pem.strip().splitlines() if not l.startswith("-----")))

    def read(at: int) -> tuple[int, int, int]:
        tag, length, at = der[at], der[at + 1], at + 2
        if length & 0x80:
            size = length & 0x7F
            length, at = int.from_bytes(der[at : at + size], "big"), at + size
        return tag, length, at

    _, _, at = read(0)
    values = []
    for _ in range(3):
        tag, length, at = read(at)
        values.append(int.from_bytes(der[at : at + length], "big"))
        at += length
    return types.SimpleNamespace(n=values[1], e=values[2])


def _long_to_base64(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return urlsafe_b64encode(data).decode().rstrip("=")


def without_tutor(sets: dict, mfe: bool = False) -> dict:
    import jinja2

    filters = _record_plugin(mfe)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(root) for root in filters.ENV_TEMPLATE_ROOTS.items]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        random_string=lambda n: "".join(random.choice(string.ascii_letters + string.digits) for _ in range(n)),
        list_if=lambda pairs: json.dumps([name for name, cond in pairs if cond]),
        rsa_import_key=_rsa_import_key,
        long_to_base64=_long_to_base64,
    )
    config: dict = {"JWT_RSA_PRIVATE_KEY": _rsa_private_key_pem()}
    # Unique values, then defaults, then the caller's; each rendered with the config so far (Tutor's order).
    # tutor-mfe's MFE_HOST (tutormfe/plugin.py) when it is installed.
    mfe_defaults = {"MFE_HOST": "apps.{{ LMS_HOST }}"} if mfe else {}
    raw = {
        **TUTOR_DEFAULTS,
        **mfe_defaults,
        **dict(filters.CONFIG_UNIQUE.items),
        **dict(filters.CONFIG_DEFAULTS.items),
        **sets,
    }
    pending = dict(raw)
    for _ in range(5):
        for key, value in list(pending.items()):
            if not isinstance(value, str):
                config[key] = value
                del pending[key]
                continue
            try:
                config[key] = environment.from_string(value).render(**config)
                del pending[key]
            except jinja2.UndefinedError:
                continue
    if pending:
        raise SystemExit(f"settings that could not be rendered: {sorted(pending)}")

    patch_texts = dict(filters.ENV_PATCHES.items)

    def render(text: str) -> str:
        return environment.from_string(text).render(**config, patch=lambda name: render(patch_texts.get(name, "")))

    return {
        "mode": "stand-in",
        "config": {k: v for k, v in config.items() if isinstance(v, (str, int, bool))},
        "env_files": {
            name: environment.get_template(f"groups-sync/apps/config/{name}.env").render(**config)
            for name in ENV_FILES
        },
        "patches": {name: render(text) for name, text in sorted(patch_texts.items())},
        "tasks": [[service, render(task)] for service, task in filters.CLI_DO_INIT_TASKS.items],
        "dockerfile": environment.get_template("groups-sync/build/groups-sync/Dockerfile").render(**config),
        "images": [list(item[:1]) + [render(item[2])] for item in filters.IMAGES_BUILD.items],
        "files": {},
        "mfe_apps": _apply(filters.MFE_APPS.callbacks, {}) if mfe else None,
    }


def _apply(callbacks: list, value):
    for callback in callbacks:
        value = callback(value)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tutor", action="store_true", help="render with Tutor itself (on PYTHONPATH)")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE, as `tutor config save --set`")
    parser.add_argument("--mfe", action="store_true", help="as with Tutor's MFE plugin installed (stand-in only)")
    args = parser.parse_args()
    sets = parse_sets(args.set)
    print(json.dumps(with_tutor(sets) if args.tutor else without_tutor(sets, args.mfe), indent=1))


if __name__ == "__main__":
    main()
