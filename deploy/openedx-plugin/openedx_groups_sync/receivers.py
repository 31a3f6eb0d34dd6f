"""Every receiver the plugin app declares (apps.py), in the module edx_django_utils imports."""

from .memberships import cohort_membership_deleted, team_membership_deleted, team_membership_saved  # noqa: F401
from .retirement import retire_in_groups_sync  # noqa: F401
