/**
 * Logical topic names. The full Kafka name adds EVENT_BUS_TOPIC_PREFIX the way
 * openedx/event-bus-kafka does (`{prefix}-{topic}`), so one broker can host several sites or test runs.
 */
export enum Topic {
  /** LMS: cohort membership changes (COHORT_MEMBERSHIP_CHANGED). */
  LmsCohortMembership = 'learning-cohort-membership',
  /** LMS: enrollment created / changed. */
  LmsCourseEnrollment = 'learning-course-enrollment-lifecycle',
  /** LMS: unenrollment completed (edx-platform's default topic for this event). */
  LmsCourseUnenrollment = 'course-unenrollment-lifecycle',
  /**
   * LMS: logins (SESSION_LOGIN_COMPLETED). edx-platform's settings do not put it on the bus; this
   * is the topic the event-bus Tutor plugin (`tutorevent_bus_redis`) configures for it.
   */
  LmsUserLogin = 'user-login',
  /** LMS: persistent course grades (PERSISTENT_GRADE_SUMMARY_CHANGED). Not on the bus by default either: our name, in the LMS's style. */
  LmsCourseGrade = 'learning-course-grade-lifecycle',
  /**
   * LMS: team memberships (proposed TEAM_MEMBERSHIP_ADDED / _REMOVED). edx-platform has no team
   * event; the emulator sends these only when switched on. Our name, in the LMS's style.
   */
  LmsTeamMembership = 'learning-team-membership',
  /** groups-service: User Group lifecycle and membership changes, keyed by scope (one user's changes in a course stay in order). */
  UserGroupLifecycle = 'user-groups-lifecycle',
  /** legacy-sync-service → groups-service: observed legacy memberships and sync results. */
  UserGroupLegacyCommands = 'user-groups-legacy-commands',
  /** evaluator-service → groups-service: dynamic groups' evaluated member sets, in chunks. */
  UserGroupEvaluationCommands = 'user-groups-evaluation-commands',
}

/** The topics the LMS publishes: on Kafka, or on Redis streams of the same names (event-bus-redis). */
export const LMS_TOPICS: readonly Topic[] = [
  Topic.LmsCohortMembership,
  Topic.LmsCourseEnrollment,
  Topic.LmsCourseUnenrollment,
  Topic.LmsUserLogin,
  Topic.LmsCourseGrade,
  Topic.LmsTeamMembership,
];

export function isLmsTopic(topic: Topic): boolean {
  return LMS_TOPICS.includes(topic);
}

/** Consumer groups, one per consuming capability. Each owns a dead-letter and a retry topic. */
export enum ConsumerGroup {
  GroupsLegacyCommands = 'groups-service.legacy-commands',
  GroupsEvaluationCommands = 'groups-service.evaluation-commands',
  LegacySyncUserGroups = 'legacy-sync-service.user-groups',
  LegacySyncLmsEvents = 'legacy-sync-service.lms-events',
  LegacySyncEnrollmentEvents = 'legacy-sync-service.enrollment-events',
  LegacySyncTeamEvents = 'legacy-sync-service.team-events',
  EvaluatorUserGroups = 'evaluator-service.user-groups',
  EvaluatorLmsEvents = 'evaluator-service.lms-events',
}

/** The topics each consumer group reads (besides its retry topic). */
export const CONSUMER_GROUP_TOPICS: Record<ConsumerGroup, Topic[]> = {
  [ConsumerGroup.GroupsLegacyCommands]: [Topic.UserGroupLegacyCommands],
  [ConsumerGroup.GroupsEvaluationCommands]: [Topic.UserGroupEvaluationCommands],
  [ConsumerGroup.LegacySyncUserGroups]: [Topic.UserGroupLifecycle],
  [ConsumerGroup.LegacySyncLmsEvents]: [Topic.LmsCohortMembership],
  [ConsumerGroup.LegacySyncEnrollmentEvents]: [Topic.LmsCourseEnrollment, Topic.LmsCourseUnenrollment],
  [ConsumerGroup.LegacySyncTeamEvents]: [Topic.LmsTeamMembership],
  [ConsumerGroup.EvaluatorUserGroups]: [Topic.UserGroupLifecycle],
  [ConsumerGroup.EvaluatorLmsEvents]: [
    Topic.LmsCourseEnrollment,
    Topic.LmsCourseUnenrollment,
    Topic.LmsUserLogin,
    Topic.LmsCourseGrade,
  ],
};

export function fullTopicName(topic: string, prefix?: string | null): string {
  return prefix ? `${prefix}-${topic}` : topic;
}

export function deadLetterTopic(group: ConsumerGroup | string): string {
  return `${group}.dead-letter`;
}

export function retryTopic(group: ConsumerGroup | string): string {
  return `${group}.retry`;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Dead-letter topics keep their messages for operators: 30 days unless configured (DEAD_LETTER_RETENTION_DAYS). */
  retentionMs?: number;
}

const THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000;

/** Every topic the product needs, with the prefix applied; created explicitly (auto-creation is off). */
export function allTopicSpecs(
  prefix?: string | null,
  partitions = 3,
  deadLetterRetentionMs = THIRTY_DAYS_MS,
): TopicSpec[] {
  const base = Object.values(Topic).map((t) => ({ name: fullTopicName(t, prefix), partitions }));
  const perGroup = Object.values(ConsumerGroup).flatMap((g) => [
    { name: fullTopicName(deadLetterTopic(g), prefix), partitions: 1, retentionMs: deadLetterRetentionMs },
    { name: fullTopicName(retryTopic(g), prefix), partitions: 1 },
  ]);
  return [...base, ...perGroup];
}
