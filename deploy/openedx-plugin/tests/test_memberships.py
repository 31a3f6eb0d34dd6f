"""The proposed events the plugin sends on the LMS's model signals, checked against the Avro schemas
openedx-groups-sync reads them with (libs/contracts/src/schemas), with the doubles of lms_doubles.py.

    python3 -m unittest discover -s deploy/openedx-plugin/tests
"""

import json
import os
import types
import unittest
from datetime import datetime

import attr
from lms_doubles import SENT, CohortMembership, CourseTeamMembership, model_signals

from django.conf import settings  # noqa: E402

from openedx_groups_sync.events import PRODUCER_CONFIG  # noqa: E402

SCHEMAS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "libs", "contracts", "src", "schemas")
USER = types.SimpleNamespace(id=42, is_active=True, username="ana", email="ana@example.com", get_full_name=lambda: "Ana B")
TEAM = types.SimpleNamespace(
    team_id="team-red", name="Red", topic_id="projects", course_id="course-v1:Org+C1+2026"
)


def schema_of(event_type):
    with open(os.path.join(SCHEMAS, f"{event_type.replace('.', '+')}_schema.avsc"), encoding="utf-8") as f:
        return json.load(f)


def conforms(value, avro_type, path="$"):
    """What openedx-events' Avro serializer would write for `value` is readable with `avro_type`: the
    same record fields in the same order, strings for strings and datetimes, null only where allowed."""
    if isinstance(avro_type, list):
        if value is None:
            assert "null" in avro_type, f"{path}: None where {avro_type} allows no null"
            return
        return conforms(value, next(t for t in avro_type if t != "null"), path)
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        assert attr.has(type(value)), f"{path}: {value!r} is not a record"
        names = [f.name for f in attr.fields(type(value))]
        assert names == [f["name"] for f in avro_type["fields"]], f"{path}: fields {names}"
        for field in avro_type["fields"]:
            conforms(getattr(value, field["name"]), field["type"], f"{path}.{field['name']}")
        return
    expected = {"string": (str, datetime), "long": (int,), "int": (int,), "boolean": (bool,)}[avro_type]
    assert isinstance(value, expected), f"{path}: {value!r} is not {avro_type}"


class MembershipEventsTest(unittest.TestCase):
    def setUp(self):
        SENT.clear()

    def assert_sent_as_the_services_read_it(self, event_type):
        self.assertEqual(len(SENT), 1)
        sent_type, data = SENT[0]
        self.assertEqual(sent_type, event_type)
        schema = schema_of(event_type)
        [(key, value)] = data.items()
        self.assertEqual([f["name"] for f in schema["fields"]], [key])
        conforms(value, schema["fields"][0]["type"], key)
        return value

    def test_a_learner_leaving_a_cohort_sends_cohort_membership_removed_with_the_cohort_left(self):
        membership = types.SimpleNamespace(
            user=USER, course_id="course-v1:Org+C1+2026", course_user_group=types.SimpleNamespace(name="Section A")
        )
        model_signals.post_delete.send(sender=CohortMembership, instance=membership)
        cohort = self.assert_sent_as_the_services_read_it("org.openedx.learning.cohort_membership.removed.v1")
        self.assertEqual((cohort.name, cohort.user.id, cohort.course.course_key), ("Section A", 42, "course-v1:Org+C1+2026"))

    def test_a_team_membership_created_sends_team_membership_added(self):
        model_signals.post_save.send(sender=CourseTeamMembership, instance=types.SimpleNamespace(user=USER, team=TEAM), created=True)
        sent = self.assert_sent_as_the_services_read_it("org.openedx.learning.team_membership.added.v1")
        self.assertEqual(attr.asdict(sent.team), {"team_id": "team-red", "name": "Red", "teamset_id": "projects"})

    def test_a_team_membership_saved_again_sends_nothing(self):
        model_signals.post_save.send(sender=CourseTeamMembership, instance=types.SimpleNamespace(user=USER, team=TEAM), created=False)
        self.assertEqual(SENT, [])

    def test_a_team_membership_deleted_sends_team_membership_removed(self):
        model_signals.post_delete.send(sender=CourseTeamMembership, instance=types.SimpleNamespace(user=USER, team=TEAM))
        self.assert_sent_as_the_services_read_it("org.openedx.learning.team_membership.removed.v1")

    def test_other_models_send_nothing(self):
        model_signals.post_delete.send(sender=object, instance=types.SimpleNamespace(user=USER, team=TEAM))
        self.assertEqual(SENT, [])

    def test_enables_its_events_on_the_bus_beside_the_sites_own_config(self):
        self.assertEqual(
            settings.EVENT_BUS_PRODUCER_CONFIG["org.openedx.learning.cohort_membership.changed.v1"],
            {"learning-cohort-membership": {"event_key_field": "cohort.course.course_key", "enabled": True}},
        )
        for event_type, topics in PRODUCER_CONFIG.items():
            self.assertEqual(settings.EVENT_BUS_PRODUCER_CONFIG[event_type], topics)


if __name__ == "__main__":
    unittest.main()
