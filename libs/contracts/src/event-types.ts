import { Topic } from './topics';

/** Every event type on our topics: the LMS's (openedx-events) and ours (`user_group.*`). */
export enum EventType {
  CohortMembershipChanged = 'org.openedx.learning.cohort_membership.changed.v1',
  CourseEnrollmentCreated = 'org.openedx.learning.course.enrollment.created.v1',
  CourseEnrollmentChanged = 'org.openedx.learning.course.enrollment.changed.v1',
  CourseUnenrollmentCompleted = 'org.openedx.learning.course.unenrollment.completed.v1',
  SessionLoginCompleted = 'org.openedx.learning.auth.session.login.completed.v1',
  PersistentGradeSummaryChanged = 'org.openedx.learning.course.persistent_grade_summary.changed.v1',
  /**
   * Proposed, not in openedx-events: edx-platform sends no event when a learner leaves a cohort, and
   * none for teams. The LMS companion plugin (deploy/openedx-plugin) sends these three.
   */
  CohortMembershipRemoved = 'org.openedx.learning.cohort_membership.removed.v1',
  TeamMembershipAdded = 'org.openedx.learning.team_membership.added.v1',
  TeamMembershipRemoved = 'org.openedx.learning.team_membership.removed.v1',

  UserGroupCreated = 'org.openedx.learning.user_group.created.v1',
  UserGroupUpdated = 'org.openedx.learning.user_group.updated.v1',
  UserGroupDeleted = 'org.openedx.learning.user_group.deleted.v1',
  UserGroupMembershipChanged = 'org.openedx.learning.user_group.membership.changed.v1',
  UserGroupLegacyLinkChanged = 'org.openedx.learning.user_group.legacy_link.changed.v1',
  UserGroupRefreshRequested = 'org.openedx.learning.user_group.refresh.requested.v1',
  UserGroupRefreshCompleted = 'org.openedx.learning.user_group.refresh.completed.v1',

  LegacyMembershipObserved = 'org.openedx.learning.user_group.legacy_membership.observed.v1',
  LegacySyncCompleted = 'org.openedx.learning.user_group.legacy_sync.completed.v1',
  EvaluationSnapshot = 'org.openedx.learning.user_group.evaluation.snapshot.v1',
  EvaluationFailed = 'org.openedx.learning.user_group.evaluation.failed.v1',
  EvaluationUserResult = 'org.openedx.learning.user_group.evaluation.user_result.v1',
  CriterionTypesAnnounced = 'org.openedx.learning.user_group.criterion_types.announced.v1',
}

/**
 * Keys keep one user's changes within one scope in order, end to end: membership changes, the group
 * lifecycle events they depend on and the LMS observations are keyed by scope key (the course key
 * for a course, the org for an org, '' for the instance), as the LMS keys its own events by course.
 * Results and evaluation chunks stay keyed by group: they are ordered by what they answer.
 */
export interface EventTypeSpec {
  /** Default topic. Topic names are configuration; this is where the product publishes by default. */
  topic: Topic;
  /** Dotted path of the field whose value is the Kafka key (event-bus-kafka's `event_key_field`). */
  keyField: string;
  /** The service named in `ce_source` (`openedx/<service>/web`). */
  source: string;
  /** Dotted path of the id of the thing that changed (the outbox's aggregate_id), when it is not the key. */
  aggregateField?: string;
}

export const EVENT_TYPES: Record<EventType, EventTypeSpec> = {
  [EventType.CohortMembershipChanged]: {
    topic: Topic.LmsCohortMembership,
    keyField: 'cohort.course.course_key',
    source: 'lms',
  },
  [EventType.CourseEnrollmentCreated]: {
    topic: Topic.LmsCourseEnrollment,
    keyField: 'enrollment.course.course_key',
    source: 'lms',
  },
  [EventType.CourseEnrollmentChanged]: {
    topic: Topic.LmsCourseEnrollment,
    keyField: 'enrollment.course.course_key',
    source: 'lms',
  },
  [EventType.CourseUnenrollmentCompleted]: {
    topic: Topic.LmsCourseUnenrollment,
    keyField: 'enrollment.course.course_key',
    source: 'lms',
  },
  // openedx-events' event_key_field for logins; grades have none documented: by course, as enrollments.
  [EventType.SessionLoginCompleted]: { topic: Topic.LmsUserLogin, keyField: 'user.pii.username', source: 'lms' },
  [EventType.PersistentGradeSummaryChanged]: {
    topic: Topic.LmsCourseGrade,
    keyField: 'grade.course.course_key',
    source: 'lms',
  },
  // On COHORT_MEMBERSHIP_CHANGED's topic and key, with its data: a learner's adds and removals in a course stay in order.
  [EventType.CohortMembershipRemoved]: {
    topic: Topic.LmsCohortMembership,
    keyField: 'cohort.course.course_key',
    source: 'lms',
  },
  // Keyed by course like COHORT_MEMBERSHIP_CHANGED: one learner's team changes in a course stay in order.
  [EventType.TeamMembershipAdded]: {
    topic: Topic.LmsTeamMembership,
    keyField: 'team_membership.course.course_key',
    source: 'lms',
  },
  [EventType.TeamMembershipRemoved]: {
    topic: Topic.LmsTeamMembership,
    keyField: 'team_membership.course.course_key',
    source: 'lms',
  },
  [EventType.UserGroupCreated]: {
    topic: Topic.UserGroupLifecycle,
    keyField: 'user_group.scope_key',
    source: 'groups-service',
    aggregateField: 'user_group.id',
  },
  [EventType.UserGroupUpdated]: {
    topic: Topic.UserGroupLifecycle,
    keyField: 'user_group.scope_key',
    source: 'groups-service',
    aggregateField: 'user_group.id',
  },
  [EventType.UserGroupDeleted]: {
    topic: Topic.UserGroupLifecycle,
    keyField: 'user_group.scope_key',
    source: 'groups-service',
    aggregateField: 'user_group.id',
  },
  [EventType.UserGroupMembershipChanged]: {
    topic: Topic.UserGroupLifecycle,
    keyField: 'membership.scope_key',
    source: 'groups-service',
    aggregateField: 'membership.group_id',
  },
  [EventType.UserGroupLegacyLinkChanged]: {
    topic: Topic.UserGroupLifecycle,
    keyField: 'legacy_link.course_key',
    source: 'groups-service',
    aggregateField: 'legacy_link.group_id',
  },
  [EventType.UserGroupRefreshRequested]: {
    topic: Topic.UserGroupLifecycle,
    keyField: 'refresh.group_id',
    source: 'groups-service',
  },
  [EventType.UserGroupRefreshCompleted]: {
    topic: Topic.UserGroupLifecycle,
    keyField: 'refresh.group_id',
    source: 'groups-service',
  },
  [EventType.LegacyMembershipObserved]: {
    topic: Topic.UserGroupLegacyCommands,
    keyField: 'observation.course_key',
    source: 'legacy-sync-service',
    aggregateField: 'observation.group_id',
  },
  [EventType.LegacySyncCompleted]: {
    topic: Topic.UserGroupLegacyCommands,
    keyField: 'sync_result.group_id',
    source: 'legacy-sync-service',
  },
  [EventType.EvaluationSnapshot]: {
    topic: Topic.UserGroupEvaluationCommands,
    keyField: 'snapshot.group_id',
    source: 'evaluator-service',
  },
  [EventType.EvaluationFailed]: {
    topic: Topic.UserGroupEvaluationCommands,
    keyField: 'failure.group_id',
    source: 'evaluator-service',
  },
  [EventType.EvaluationUserResult]: {
    topic: Topic.UserGroupEvaluationCommands,
    keyField: 'result.group_id',
    source: 'evaluator-service',
  },
  [EventType.CriterionTypesAnnounced]: {
    topic: Topic.UserGroupEvaluationCommands,
    keyField: 'announcement.source',
    source: 'evaluator-service',
  },
};

export function isEventType(value: string): value is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_TYPES, value);
}
