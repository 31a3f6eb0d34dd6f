"""The plugin app: its settings and its receiver, declared the way edx_django_utils.plugins reads them
(edx-django-utils `edx_django_utils/plugins/constants.py`: the literal keys below)."""

from django.apps import AppConfig


class GroupsSyncConfig(AppConfig):
    name = "openedx_groups_sync"
    verbose_name = "openedx-groups-sync"

    plugin_app = {
        "settings_config": {
            "lms.djangoapp": {"common": {"relative_path": "settings.common"}},
        },
        "signals_config": {
            "lms.djangoapp": {
                # The module the receivers are in; edx_django_utils connects each to its signal
                # (and sender), as declared here.
                "relative_path": "receivers",
                "receivers": [
                    {
                        "receiver_func_name": "retire_in_groups_sync",
                        # Sent by the LMS's retirement view (LMSAccountRetirementView, retire_misc) with `user`.
                        "signal_path": "openedx.core.djangoapps.user_api.accounts.signals.USER_RETIRE_LMS_MISC",
                    },
                    {
                        "receiver_func_name": "cohort_membership_deleted",
                        "signal_path": "django.db.models.signals.post_delete",
                        "sender_path": "openedx.core.djangoapps.course_groups.models.CohortMembership",
                    },
                    {
                        "receiver_func_name": "team_membership_saved",
                        "signal_path": "django.db.models.signals.post_save",
                        "sender_path": "lms.djangoapps.teams.models.CourseTeamMembership",
                    },
                    {
                        "receiver_func_name": "team_membership_deleted",
                        "signal_path": "django.db.models.signals.post_delete",
                        "sender_path": "lms.djangoapps.teams.models.CourseTeamMembership",
                    },
                ],
            }
        },
    }
