"""Defaults, overridden in the LMS's settings (the Tutor plugin sets them)."""


def plugin_settings(settings):
    # The services' retirement endpoints (POST, {"edx_lms_user_id", "original_username"}), called
    # with a JWT of RETIREMENT_SERVICE_WORKER_USERNAME. Empty: no learner is retired there by the LMS.
    settings.GROUPS_SYNC_RETIREMENT_URLS = getattr(settings, "GROUPS_SYNC_RETIREMENT_URLS", [])
    settings.GROUPS_SYNC_TIMEOUT_SECONDS = getattr(settings, "GROUPS_SYNC_TIMEOUT_SECONDS", 10)

    # The proposed events on the bus the site configured: their signals first (openedx-events looks
    # each configured event type up when its app is ready), then their producer config.
    from openedx_events.event_bus import merge_producer_configs

    from openedx_groups_sync.events import PRODUCER_CONFIG

    settings.EVENT_BUS_PRODUCER_CONFIG = merge_producer_configs(
        getattr(settings, "EVENT_BUS_PRODUCER_CONFIG", {}), PRODUCER_CONFIG
    )
