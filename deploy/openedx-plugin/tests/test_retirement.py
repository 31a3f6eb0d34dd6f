"""The retirement receiver, in Django (Debian's python3-django) with test doubles for the
edx-platform modules it imports, which cannot be installed here:
  openedx.core.djangoapps.user_api.accounts.signals.USER_RETIRE_LMS_MISC  (a plain Django Signal)
  openedx.core.djangoapps.oauth_dispatch.jwt.create_jwt_for_user           (answers "token-for-<username>")
  openedx.core.djangoapps.user_api.models.UserRetirementStatus             (original_username by user)
The services are a local HTTP server that records what it is sent and answers as told.

    python3 -m unittest discover -s deploy/openedx-plugin/tests
"""

import json
import os
import sys
import threading
import types
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.dispatch import Signal  # noqa: E402

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "openedx_groups_sync"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    RETIREMENT_SERVICE_WORKER_USERNAME="retirement_service_worker",
    USE_TZ=True,
)


def _double(path, **attributes):
    module = types.ModuleType(path)
    module.__dict__.update(attributes)
    sys.modules[path] = module
    return module


USER_RETIRE_LMS_MISC = Signal()
RETIREMENT_STATUS = {}
for parent in ["openedx", "openedx.core", "openedx.core.djangoapps", "openedx.core.djangoapps.user_api",
               "openedx.core.djangoapps.user_api.accounts", "openedx.core.djangoapps.oauth_dispatch"]:
    _double(parent)
_double("openedx.core.djangoapps.user_api.accounts.signals", USER_RETIRE_LMS_MISC=USER_RETIRE_LMS_MISC)
_double("openedx.core.djangoapps.oauth_dispatch.jwt", create_jwt_for_user=lambda user: f"token-for-{user.username}")


class _Statuses:
    @staticmethod
    def get(user):
        if user.id not in RETIREMENT_STATUS:
            raise LookupError("no retirement status")
        return types.SimpleNamespace(original_username=RETIREMENT_STATUS[user.id])


_double("openedx.core.djangoapps.user_api.models", UserRetirementStatus=types.SimpleNamespace(objects=_Statuses))

django.setup()

from django.apps import apps  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from openedx_groups_sync.retirement import GroupsSyncRetirementError  # noqa: E402
from openedx_groups_sync.settings.common import plugin_settings  # noqa: E402


class _Services(BaseHTTPRequestHandler):
    received = []
    answers = {}

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Services.received.append((self.path, self.headers["Authorization"], json.loads(body)))
        status = _Services.answers.get(self.path, 204)
        self.send_response(status)
        self.end_headers()
        if status != 204:
            self.wfile.write(b'{"error":"down"}')

    def log_message(self, *args):
        pass


def _connect_as_the_lms_would():
    """edx_django_utils connects each receiver the plugin declares to its signal: the same here."""
    config = apps.get_app_config("openedx_groups_sync").plugin_app["signals_config"]["lms.djangoapp"]
    module = __import__(f"openedx_groups_sync.{config['relative_path']}", fromlist=["*"])
    for receiver in config["receivers"]:
        signal_module, _, signal_name = receiver["signal_path"].rpartition(".")
        signal = getattr(sys.modules[signal_module], signal_name)
        signal.connect(getattr(module, receiver["receiver_func_name"]), weak=False)


class RetirementTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        call_command("migrate", verbosity=0)
        plugin_settings(settings)
        _connect_as_the_lms_would()
        cls.server = HTTPServer(("127.0.0.1", 0), _Services)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{cls.server.server_port}"
        cls.urls = [f"{base}/api/user-groups/v1/retire", f"{base}/api/legacy-sync/v1/retire"]
        users = get_user_model().objects
        users.create(username="retirement_service_worker")
        cls.learner = users.create(username="retired__user_3f1a")
        RETIREMENT_STATUS[cls.learner.id] = "ana"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def setUp(self):
        _Services.received.clear()
        _Services.answers.clear()
        settings.GROUPS_SYNC_RETIREMENT_URLS = self.urls

    def test_retires_the_learner_in_every_service_as_the_retirement_worker(self):
        USER_RETIRE_LMS_MISC.send(sender=object, user=self.learner)
        body = {"edx_lms_user_id": self.learner.id, "original_username": "ana"}
        self.assertEqual(
            _Services.received,
            [
                ("/api/user-groups/v1/retire", "JWT token-for-retirement_service_worker", body),
                ("/api/legacy-sync/v1/retire", "JWT token-for-retirement_service_worker", body),
            ],
        )

    def test_a_service_that_fails_fails_the_lms_step_so_the_pipeline_runs_it_again(self):
        _Services.answers["/api/legacy-sync/v1/retire"] = 503
        with self.assertRaisesRegex(GroupsSyncRetirementError, "legacy-sync/v1/retire: 503"):
            USER_RETIRE_LMS_MISC.send(sender=object, user=self.learner)

    def test_an_unreachable_service_fails_the_step_too(self):
        settings.GROUPS_SYNC_RETIREMENT_URLS = ["http://127.0.0.1:9/api/user-groups/v1/retire"]
        with self.assertRaises(GroupsSyncRetirementError):
            USER_RETIRE_LMS_MISC.send(sender=object, user=self.learner)

    def test_sends_the_id_alone_when_the_lms_kept_no_retirement_status(self):
        other = get_user_model().objects.create(username="retired__user_9c2b")
        USER_RETIRE_LMS_MISC.send(sender=object, user=other)
        self.assertEqual([body for _, _, body in _Services.received], [{"edx_lms_user_id": other.id}] * 2)

    def test_does_nothing_where_no_service_is_configured(self):
        settings.GROUPS_SYNC_RETIREMENT_URLS = []
        USER_RETIRE_LMS_MISC.send(sender=object, user=self.learner)
        self.assertEqual(_Services.received, [])


if __name__ == "__main__":
    unittest.main()
