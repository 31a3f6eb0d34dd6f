"""The retirement receiver, in Django with the doubles of lms_doubles.py. The services are a local
HTTP server that records what it is sent and answers as told.

    python3 -m unittest discover -s deploy/openedx-plugin/tests
"""

import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer

from lms_doubles import RETIREMENT_STATUS, USER_RETIRE_LMS_MISC

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from openedx_groups_sync.retirement import GroupsSyncRetirementError  # noqa: E402


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


class RetirementTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
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
