"""openedx-groups-sync for Tutor.

Follows the conventions of overhangio/tutor-notes (v21.0.0): settings as GROUPS_SYNC_* config
(defaults, and secrets generated once per site in `unique`), patches from the `patches/` folder,
templates rendered under env/plugins/groups-sync/, init tasks read as unrendered scripts, one image
built by `tutor images build groups-sync`.
"""

from __future__ import annotations

import os
import typing as t
from glob import glob

import importlib_resources
from tutor import hooks

from .__about__ import __version__

PACKAGE = importlib_resources.files("tutorgroupssync")

# The services, their port and database: one MySQL schema and user each (least privilege).
SERVICES = {
    "groups-service": {"port": 3001, "database": "GROUPS"},
    "legacy-sync-service": {"port": 3002, "database": "LEGACY_SYNC"},
    "evaluator-service": {"port": 3003, "database": "EVALUATOR"},
}

config: dict[str, dict[str, t.Any]] = {
    "defaults": {
        "VERSION": __version__,
        "DOCKER_IMAGE": "{{ DOCKER_REGISTRY }}openedx-groups-sync:{{ GROUPS_SYNC_VERSION }}",
        # The source the image is built from (`tutor images build groups-sync`): a fork, a tag.
        "REPOSITORY": "https://github.com/openedx/openedx-groups-sync.git",
        "REPOSITORY_VERSION": "main",
        # The APIs (User Groups, legacy sync), behind Caddy on a host of their own.
        "HOST": "groups.{{ LMS_HOST }}",
        # Where the LMS publishes its events. Tutor configures event-bus-redis on its Redis with the
        # prefix "dev" (common_all.py); with the site's LMS on Kafka: "kafka" and the brokers below.
        "LMS_EVENT_BUS": "redis",
        "EVENT_BUS_REDIS_CONNECTION_URL": (
            "redis://{% if REDIS_USERNAME and REDIS_PASSWORD %}{{ REDIS_USERNAME }}:{{ REDIS_PASSWORD }}{% endif %}"
            "@{{ REDIS_HOST }}:{{ REDIS_PORT }}/"
        ),
        "EVENT_BUS_TOPIC_PREFIX": "dev",
        # The services' own topics are on Kafka. Without a Kafka of the site's, the plugin runs one
        # broker (KRaft) and a schema registry (Apicurio, its schemas stored in Kafka).
        "RUN_KAFKA": True,
        "KAFKA_DOCKER_IMAGE": "docker.io/apache/kafka:3.9.1",
        "KAFKA_CLUSTER_ID": "MkU3OEVBNTcwNTJENDM2Qk",
        "SCHEMA_REGISTRY_DOCKER_IMAGE": "quay.io/apicurio/apicurio-registry:3.0.9",
        "KAFKA_BROKERS": "groups-sync-kafka:9092",
        "SCHEMA_REGISTRY_URL": "http://groups-sync-schema-registry:8080/apis/ccompat/v7",
        "KAFKA_TOPIC_REPLICATION_FACTOR": 1,
        "KAFKA_TOPIC_MIN_INSYNC_REPLICAS": 1,
        # MySQL: a schema and a user per service, the migrator (the only one with DDL), and a
        # read-only user on the LMS's database (course roles, rosters, criteria).
        "GROUPS_MYSQL_DATABASE": "groups_sync_groups",
        "GROUPS_MYSQL_USERNAME": "groups_sync_groups",
        "LEGACY_SYNC_MYSQL_DATABASE": "groups_sync_legacy_sync",
        "LEGACY_SYNC_MYSQL_USERNAME": "groups_sync_legacy_sync",
        "EVALUATOR_MYSQL_DATABASE": "groups_sync_evaluator",
        "EVALUATOR_MYSQL_USERNAME": "groups_sync_evaluator",
        "MIGRATOR_MYSQL_USERNAME": "groups_sync_migrator",
        "READER_MYSQL_USERNAME": "groups_sync_reader",
        # The LMS user of the services' OAuth2 applications (global staff: the cohorts API needs it).
        "SERVICE_USER": "groups_sync_worker",
        "GROUPS_OAUTH2_KEY": "groups-sync-groups-service",
        "LEGACY_SYNC_OAUTH2_KEY": "groups-sync-legacy-sync-service",
        "LOG_LEVEL": "info",
        # The LMS companion plugin (deploy/openedx-plugin), installed into the openedx image: it sends
        # the cohort-removal and team events the LMS lacks, and retires a learner in the services when
        # the LMS retires them, calling as this LMS user.
        "LMS_PLUGIN": True,
        "LMS_PLUGIN_REQUIREMENT": (
            "openedx-groups-sync-lms @ git+{{ GROUPS_SYNC_REPOSITORY }}@{{ GROUPS_SYNC_REPOSITORY_VERSION }}"
            "#subdirectory=deploy/openedx-plugin"
        ),
        "RETIREMENT_SERVICE_WORKER_USERNAME": "retirement_service_worker",
    },
    "unique": {
        "GROUPS_MYSQL_PASSWORD": "{{ 24|random_string }}",
        "LEGACY_SYNC_MYSQL_PASSWORD": "{{ 24|random_string }}",
        "EVALUATOR_MYSQL_PASSWORD": "{{ 24|random_string }}",
        "MIGRATOR_MYSQL_PASSWORD": "{{ 24|random_string }}",
        "READER_MYSQL_PASSWORD": "{{ 24|random_string }}",
        "GROUPS_OAUTH2_SECRET": "{{ 32|random_string }}",
        "LEGACY_SYNC_OAUTH2_SECRET": "{{ 32|random_string }}",
    },
}

hooks.Filters.CONFIG_DEFAULTS.add_items([(f"GROUPS_SYNC_{key}", value) for key, value in config["defaults"].items()])
hooks.Filters.CONFIG_UNIQUE.add_items([(f"GROUPS_SYNC_{key}", value) for key, value in config["unique"].items()])

# Init tasks (`tutor local do init`, `tutor k8s do init`): the schemas and users in MySQL, the OAuth2
# applications and their user in the LMS, then the migrations (in the plugin's image, as the migrator).
for service, task in [("mysql", "mysql"), ("lms", "lms"), ("groups-sync", "groups-sync-job")]:
    with open(str(PACKAGE / "templates" / "groups-sync" / "tasks" / task / "init"), encoding="utf-8") as task_file:
        hooks.Filters.CLI_DO_INIT_TASKS.add_item((service, task_file.read()))

hooks.Filters.IMAGES_BUILD.add_item(
    ("groups-sync", ("plugins", "groups-sync", "build", "groups-sync"), "{{ GROUPS_SYNC_DOCKER_IMAGE }}", ())
)
hooks.Filters.IMAGES_PULL.add_item(("groups-sync", "{{ GROUPS_SYNC_DOCKER_IMAGE }}"))
hooks.Filters.IMAGES_PUSH.add_item(("groups-sync", "{{ GROUPS_SYNC_DOCKER_IMAGE }}"))

hooks.Filters.ENV_TEMPLATE_ROOTS.add_item(str(PACKAGE / "templates"))
hooks.Filters.ENV_TEMPLATE_TARGETS.add_items([("groups-sync/build", "plugins"), ("groups-sync/apps", "plugins")])

for path in sorted(glob(str(PACKAGE / "patches" / "*"))):
    with open(path, encoding="utf-8") as patch_file:
        hooks.Filters.ENV_PATCHES.add_item((os.path.basename(path), patch_file.read()))


@hooks.Filters.APP_PUBLIC_HOSTS.add()
def _groups_sync_public_hosts(hosts: list[str], context_name: t.Literal["local", "dev"]) -> list[str]:
    if context_name == "local":
        hosts.append("{{ GROUPS_SYNC_HOST }}")
    return hosts


# The User Groups page (apps/frontend-app-user-groups), as a micro-frontend of Tutor's MFE plugin
# where that is installed: served at {{ MFE_HOST }}/user-groups/. tutor-mfe builds it from this
# repository's root: `npm run build` builds the page into dist/ (the patch
# mfe-dockerfile-pre-npm-build-user-groups), and `make pull_translations` has nothing to pull yet.
try:
    from tutormfe.hooks import MFE_APPS
except ImportError:  # no tutor-mfe: no page; the APIs serve without it
    MFE_APPS = None

if MFE_APPS is not None:

    @MFE_APPS.add()
    def _user_groups_page(mfes: dict) -> dict:
        # tutor-mfe reads these as they are (not rendered): the defaults, not a site's settings.
        mfes["user-groups"] = {
            "repository": config["defaults"]["REPOSITORY"],
            "port": 2010,
            "version": config["defaults"]["REPOSITORY_VERSION"],
        }
        return mfes
