"""Defaults, overridden in the LMS's settings (the Tutor plugin sets them)."""


def plugin_settings(settings):
    # The services' retirement endpoints (POST, {"edx_lms_user_id", "original_username"}), called
    # with a JWT of RETIREMENT_SERVICE_WORKER_USERNAME. Empty: the plugin does nothing.
    settings.GROUPS_SYNC_RETIREMENT_URLS = getattr(settings, "GROUPS_SYNC_RETIREMENT_URLS", [])
    settings.GROUPS_SYNC_TIMEOUT_SECONDS = getattr(settings, "GROUPS_SYNC_TIMEOUT_SECONDS", 10)
