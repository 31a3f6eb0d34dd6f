"""The proposed events this plugin sends, defined as openedx-events defines its own (OpenEdxPublicSignal
with attrs data), with the Avro schemas openedx-groups-sync reads (libs/contracts/src/schemas):
  org.openedx.learning.cohort_membership.removed.v1  {cohort: CohortData}  (the cohort left)
  org.openedx.learning.team_membership.added.v1      {team_membership: TeamMembershipData}
  org.openedx.learning.team_membership.removed.v1    {team_membership: TeamMembershipData}
Imported by plugin_settings, so the signals exist before openedx-events connects the producer
config's event types to the event bus (its app's ready())."""

from datetime import datetime

import attr
from openedx_events.learning.data import CohortData, CourseData, UserData
from openedx_events.tooling import OpenEdxPublicSignal


@attr.s(frozen=True)
class TeamData:
    team_id = attr.ib(type=str)
    name = attr.ib(type=str)
    teamset_id = attr.ib(type=str)  # CourseTeam.topic_id


@attr.s(frozen=True)
class TeamMembershipData:
    user = attr.ib(type=UserData)
    course = attr.ib(type=CourseData)
    team = attr.ib(type=TeamData)
    changed_at = attr.ib(type=datetime)


COHORT_MEMBERSHIP_REMOVED = OpenEdxPublicSignal(
    event_type="org.openedx.learning.cohort_membership.removed.v1",
    data={"cohort": CohortData},
)
TEAM_MEMBERSHIP_ADDED = OpenEdxPublicSignal(
    event_type="org.openedx.learning.team_membership.added.v1",
    data={"team_membership": TeamMembershipData},
)
TEAM_MEMBERSHIP_REMOVED = OpenEdxPublicSignal(
    event_type="org.openedx.learning.team_membership.removed.v1",
    data={"team_membership": TeamMembershipData},
)

# On the topics and keys openedx-groups-sync reads them from (libs/contracts/src/event-types.ts).
PRODUCER_CONFIG = {
    "org.openedx.learning.cohort_membership.removed.v1": {
        "learning-cohort-membership": {"event_key_field": "cohort.course.course_key", "enabled": True},
    },
    "org.openedx.learning.team_membership.added.v1": {
        "learning-team-membership": {"event_key_field": "team_membership.course.course_key", "enabled": True},
    },
    "org.openedx.learning.team_membership.removed.v1": {
        "learning-team-membership": {"event_key_field": "team_membership.course.course_key", "enabled": True},
    },
}
