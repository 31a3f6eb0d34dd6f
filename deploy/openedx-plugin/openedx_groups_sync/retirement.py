"""Retirement the LMS drives: when the LMS retires a learner (its retirement pipeline's `retire_misc`
step sends USER_RETIRE_LMS_MISC), the learner is retired in groups-service and legacy-sync-service
too, as the pipeline's GenericRetirementApi would retire them in a service it knows.

A service that does not answer 204 fails the signal, so the LMS's retirement step fails and the
pipeline runs it again: the services' endpoints are idempotent (204, again and again)."""

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings

log = logging.getLogger(__name__)


class GroupsSyncRetirementError(Exception):
    """A service did not retire the learner; the LMS's retirement step should be run again."""


def _worker_token():
    # edx-platform's own: a JWT of the user the retirement pipeline calls services as.
    from django.contrib.auth import get_user_model
    from openedx.core.djangoapps.oauth_dispatch.jwt import create_jwt_for_user

    worker = get_user_model().objects.get(username=settings.RETIREMENT_SERVICE_WORKER_USERNAME)
    return create_jwt_for_user(worker)


def _original_username(user):
    try:
        from openedx.core.djangoapps.user_api.models import UserRetirementStatus

        return UserRetirementStatus.objects.get(user=user).original_username
    except Exception:  # pylint: disable=broad-except  (no status row: the id alone still retires)
        return None


def retire_in_groups_sync(sender, user=None, **kwargs):  # pylint: disable=unused-argument
    urls = getattr(settings, "GROUPS_SYNC_RETIREMENT_URLS", [])
    if not urls or user is None:
        return
    body = {"edx_lms_user_id": user.id}
    original = _original_username(user)
    if original:
        body["original_username"] = original
    headers = {"Authorization": f"JWT {_worker_token()}", "Content-Type": "application/json"}
    for url in urls:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=settings.GROUPS_SYNC_TIMEOUT_SECONDS) as response:
                status = response.status
                text = response.read(500).decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read(500).decode(errors="replace")
        except OSError as error:  # refused, unreachable, timed out
            raise GroupsSyncRetirementError(f"{url}: {error}") from error
        if status != 204:
            raise GroupsSyncRetirementError(f"{url}: {status} {text}")
        log.info("openedx-groups-sync: user %s retired at %s", user.id, url)
