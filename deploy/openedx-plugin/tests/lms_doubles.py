"""Django (Debian's python3-django) and test doubles for what the plugin imports from edx-platform and
openedx-events, neither of which can be installed here. Imported first by every test module; sets
everything up once.

Doubles, at the boundary only:
  openedx.core.djangoapps.user_api.accounts.signals.USER_RETIRE_LMS_MISC  a plain Django Signal
  openedx.core.djangoapps.oauth_dispatch.jwt.create_jwt_for_user           answers "token-for-<username>"
  openedx.core.djangoapps.user_api.models.UserRetirementStatus             original_username by user id
  openedx.core.djangoapps.course_groups.models.CohortMembership            a class (the sender)
  lms.djangoapps.teams.models.CourseTeamMembership                         a class (the sender)
  openedx_events.tooling.OpenEdxPublicSignal      records send_event(); checks the data's classes
  openedx_events.learning.data                    UserPersonalData, UserData, CourseData, CohortData (attrs, as upstream)
  openedx_events.event_bus.merge_producer_configs merges nested dicts, as upstream
"""

import os
import sys
import types
from datetime import datetime

import attr

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.dispatch import Signal  # noqa: E402


def double(path, **attributes):
    module = sys.modules.get(path) or types.ModuleType(path)
    module.__dict__.update(attributes)
    sys.modules[path] = module
    parent, _, name = path.rpartition(".")
    if parent:
        setattr(double(parent), name, module)
    return module


USER_RETIRE_LMS_MISC = Signal()
RETIREMENT_STATUS = {}
SENT = []  # (event_type, data) of every send_event


class _Statuses:
    @staticmethod
    def get(user):
        if user.id not in RETIREMENT_STATUS:
            raise LookupError("no retirement status")
        return types.SimpleNamespace(original_username=RETIREMENT_STATUS[user.id])


class CohortMembership:
    pass


class CourseTeamMembership:
    pass


double("openedx.core.djangoapps.user_api.accounts.signals", USER_RETIRE_LMS_MISC=USER_RETIRE_LMS_MISC)
double("openedx.core.djangoapps.oauth_dispatch.jwt", create_jwt_for_user=lambda user: f"token-for-{user.username}")
double("openedx.core.djangoapps.user_api.models", UserRetirementStatus=types.SimpleNamespace(objects=_Statuses))
double("openedx.core.djangoapps.course_groups.models", CohortMembership=CohortMembership)
double("lms.djangoapps.teams.models", CourseTeamMembership=CourseTeamMembership)


@attr.s(frozen=True)
class UserPersonalData:
    username = attr.ib(type=str)
    email = attr.ib(type=str)
    name = attr.ib(type=str, factory=str)


@attr.s(frozen=True)
class UserData:
    id = attr.ib(type=int)
    is_active = attr.ib(type=bool)
    pii = attr.ib(type=UserPersonalData)


@attr.s(frozen=True)
class CourseData:
    course_key = attr.ib(type=str)
    display_name = attr.ib(type=str, factory=str)
    start = attr.ib(type=datetime, default=None)
    end = attr.ib(type=datetime, default=None)


@attr.s(frozen=True)
class CohortData:
    user = attr.ib(type=UserData)
    course = attr.ib(type=CourseData)
    name = attr.ib(type=str)


class OpenEdxPublicSignal(Signal):
    by_type = {}

    def __init__(self, event_type, data):
        super().__init__()
        self.event_type, self.init_data = event_type, data
        OpenEdxPublicSignal.by_type[event_type] = self

    def send_event(self, **kwargs):
        if set(kwargs) != set(self.init_data):
            raise TypeError(f"{self.event_type}: data {sorted(kwargs)}, expected {sorted(self.init_data)}")
        for key, cls in self.init_data.items():
            if not isinstance(kwargs[key], cls):
                raise TypeError(f"{self.event_type}: {key} is not {cls.__name__}")
        SENT.append((self.event_type, kwargs))


def _merge(one, two):
    merged = {key: dict(value) for key, value in one.items()}
    for event_type, topics in two.items():
        merged.setdefault(event_type, {}).update(topics)
    return merged


double("openedx_events.tooling", OpenEdxPublicSignal=OpenEdxPublicSignal)
double(
    "openedx_events.learning.data",
    UserPersonalData=UserPersonalData,
    UserData=UserData,
    CourseData=CourseData,
    CohortData=CohortData,
)
double("openedx_events.event_bus", merge_producer_configs=_merge)

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "openedx_groups_sync"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    RETIREMENT_SERVICE_WORKER_USERNAME="retirement_service_worker",
    EVENT_BUS_PRODUCER_CONFIG={
        "org.openedx.learning.cohort_membership.changed.v1": {
            "learning-cohort-membership": {"event_key_field": "cohort.course.course_key", "enabled": True}
        }
    },
    USE_TZ=True,
)
django.setup()

from django.apps import apps  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import signals as model_signals  # noqa: E402

from openedx_groups_sync.settings.common import plugin_settings  # noqa: E402

call_command("migrate", verbosity=0)
plugin_settings(settings)


def connect_as_the_lms_would():
    """edx_django_utils connects each receiver the plugin declares to its signal (and sender)."""
    config = apps.get_app_config("openedx_groups_sync").plugin_app["signals_config"]["lms.djangoapp"]
    module = __import__(f"openedx_groups_sync.{config['relative_path']}", fromlist=["*"])
    for receiver in config["receivers"]:
        signal_module, _, signal_name = receiver["signal_path"].rpartition(".")
        signal = getattr(sys.modules.get(signal_module) or __import__(signal_module, fromlist=["*"]), signal_name)
        sender = None
        if "sender_path" in receiver:
            sender_module, _, sender_name = receiver["sender_path"].rpartition(".")
            sender = getattr(sys.modules[sender_module], sender_name)
        signal.connect(getattr(module, receiver["receiver_func_name"]), sender=sender, weak=False)


connect_as_the_lms_would()
__all__ = ["model_signals"]
