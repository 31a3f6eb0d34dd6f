# LMS settings for openedx-groups-sync: paste into the LMS's settings (a Tutor plugin's
# "openedx-lms-common-settings" patch, or lms.yml / a private settings module), after the LMS's
# own settings are loaded. deploy/openedx/README.md says which block a site needs.
#
# Topics are this product's names (openedx-events declares none for these events); each event's
# event_key_field is the one openedx-events documents where it documents one (enrollments:
# enrollment.course.course_key; logins: user.pii.username), else the course key, so that one
# learner's changes in one course stay in order on Kafka. event-bus-redis ignores the key.
# A test (deploy/openedx/settings.spec.ts) fails when this and what the services consume drift apart.
from openedx_events.event_bus import merge_producer_configs

GROUPS_SYNC_EVENT_BUS_PRODUCER_CONFIG = {
    "org.openedx.learning.cohort_membership.changed.v1": {
        "learning-cohort-membership": {"event_key_field": "cohort.course.course_key", "enabled": True},
    },
    "org.openedx.learning.course.enrollment.created.v1": {
        "learning-course-enrollment-lifecycle": {"event_key_field": "enrollment.course.course_key", "enabled": True},
    },
    "org.openedx.learning.course.enrollment.changed.v1": {
        "learning-course-enrollment-lifecycle": {"event_key_field": "enrollment.course.course_key", "enabled": True},
    },
    # edx-platform declares this one (disabled) on this topic: enabled here.
    "org.openedx.learning.course.unenrollment.completed.v1": {
        "course-unenrollment-lifecycle": {"event_key_field": "enrollment.course.course_key", "enabled": True},
    },
    "org.openedx.learning.auth.session.login.completed.v1": {
        "user-login": {"event_key_field": "user.pii.username", "enabled": True},
    },
    # Sent only for learners who have passed: openedx-events cannot serialize a grade whose
    # passed_timestamp is None, and the LMS logs and drops it (criteria refresh on their schedule).
    "org.openedx.learning.course.persistent_grade_summary.changed.v1": {
        "learning-course-grade-lifecycle": {"event_key_field": "grade.course.course_key", "enabled": True},
    },
}

EVENT_BUS_PRODUCER_CONFIG = merge_producer_configs(EVENT_BUS_PRODUCER_CONFIG, GROUPS_SYNC_EVENT_BUS_PRODUCER_CONFIG)  # noqa: F821

# ---- The bus: ONE of the two blocks below (Tutor already sets the Redis one). ----

# event-bus-redis (Tutor's default; the services run with LMS_EVENT_BUS=redis and the same URL):
# EVENT_BUS_PRODUCER = "edx_event_bus_redis.create_producer"
# EVENT_BUS_REDIS_CONNECTION_URL = "redis://@redis:6379/"
# EVENT_BUS_TOPIC_PREFIX = "dev"          # the services' EVENT_BUS_TOPIC_PREFIX must be the same
# EVENT_BUS_REDIS_STREAM_MAX_LEN = 10000  # entries kept per stream; a reader down longer loses the rest (reconciled)

# event-bus-kafka (the services run with LMS_EVENT_BUS=kafka, the same brokers, registry and prefix):
# EVENT_BUS_PRODUCER = "edx_event_bus_kafka.create_producer"
# EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS = "broker-1:9092,broker-2:9092"
# EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL = "https://registry.example.com"
# EVENT_BUS_TOPIC_PREFIX = "prod"
