"""Receivers of the LMS's model signals that send the proposed events (events.py): a learner leaving
a cohort (edx-platform's remove_user_from_cohort deletes the CohortMembership; a move updates it
and COHORT_MEMBERSHIP_CHANGED already tells), and team memberships added and removed."""

from datetime import datetime, timezone

from openedx_events.learning.data import CohortData, CourseData, UserData, UserPersonalData

from .events import COHORT_MEMBERSHIP_REMOVED, TEAM_MEMBERSHIP_ADDED, TEAM_MEMBERSHIP_REMOVED, TeamData, TeamMembershipData


def _user(user):
    return UserData(
        id=user.id,
        is_active=user.is_active,
        pii=UserPersonalData(username=user.username, email=user.email, name=user.get_full_name()),
    )


def cohort_membership_deleted(sender, instance, **kwargs):  # pylint: disable=unused-argument
    COHORT_MEMBERSHIP_REMOVED.send_event(
        cohort=CohortData(
            user=_user(instance.user),
            course=CourseData(course_key=instance.course_id),
            name=instance.course_user_group.name,
        )
    )


def _team_membership(instance):
    team = instance.team
    return TeamMembershipData(
        user=_user(instance.user),
        course=CourseData(course_key=team.course_id),
        team=TeamData(team_id=team.team_id, name=team.name, teamset_id=team.topic_id),
        changed_at=datetime.now(timezone.utc),
    )


def team_membership_saved(sender, instance, created=False, **kwargs):  # pylint: disable=unused-argument
    if created:
        TEAM_MEMBERSHIP_ADDED.send_event(team_membership=_team_membership(instance))


def team_membership_deleted(sender, instance, **kwargs):  # pylint: disable=unused-argument
    TEAM_MEMBERSHIP_REMOVED.send_event(team_membership=_team_membership(instance))
