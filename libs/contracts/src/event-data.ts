import { EventType } from './event-types';

// Payloads as they travel: field names follow the Avro schemas in ./schemas (snake_case, like openedx-events).

export interface UserPersonalData {
  username: string;
  email: string;
  name: string;
}
export interface UserData {
  id: number;
  is_active: boolean;
  pii: UserPersonalData;
}
export interface CourseData {
  course_key: string;
  display_name: string;
  start: string | null;
  end: string | null;
}

export interface CohortMembershipChangedData {
  cohort: { user: UserData; course: CourseData; name: string };
}

export interface CourseEnrollmentData {
  enrollment: {
    user: UserData;
    course: CourseData;
    mode: string;
    is_active: boolean;
    creation_date: string;
    created_by: UserData | null;
  };
}

export interface SessionLoginCompletedData {
  user: UserData;
}

/** edx-platform's PersistentCourseGrade as openedx-events carries it: percent_grade is a fraction (0..1), timestamps ISO text. */
export interface PersistentCourseGradeData {
  grade: {
    user_id: number;
    course: CourseData;
    course_edited_timestamp: string;
    course_version: string;
    grading_policy_hash: string;
    percent_grade: number;
    letter_grade: string;
    passed_timestamp: string;
  };
}

/**
 * Proposed TEAM_MEMBERSHIP_ADDED / _REMOVED, shaped like COHORT_MEMBERSHIP_CHANGED's CohortData:
 * the learner, the course, the team (`teamset_id` is CourseTeam.topic_id) and when it changed.
 */
export interface TeamMembershipChangedData {
  team_membership: {
    user: UserData;
    course: CourseData;
    team: { team_id: string; name: string; teamset_id: string };
    changed_at: string;
  };
}

export type MembershipAction = 'added' | 'removed';
/** `retirement`: the user was retired (Open edX's retirement pipeline retires the LMS's side itself). */
export type MembershipOrigin = 'api' | 'csv' | 'criteria' | 'legacy' | 'reconciliation' | 'retirement';
export type LegacyType = 'cohort' | 'team' | 'enrollment_track';

export interface UserGroupCriterionData {
  type: string;
  operator: string;
  value: string;
  config: string;
}

export interface UserGroupData {
  user_group: {
    id: string;
    scope_type: string;
    scope_key: string;
    name: string;
    description: string;
    kind: string;
    enabled: boolean;
    version: number;
    criteria: UserGroupCriterionData[];
    changed_by: string | null;
    occurred_at: string;
    frozen?: boolean;
    refresh_cadence_seconds?: number | null;
    /** Evaluate the dynamic group at once: set when it is created, its criteria change, it is enabled or unfrozen, unless the request declined. */
    evaluate_now?: boolean;
    /** On deletion: the caller asked to keep the legacy group in the LMS (`?unlink=true`). */
    unlink?: boolean;
  };
}

export interface UserGroupMembershipChangedData {
  membership: {
    group_id: string;
    scope_type: string;
    scope_key: string;
    user_id: number;
    username: string;
    action: MembershipAction;
    origin: MembershipOrigin;
    occurred_at: string;
    moved_to_group_id: string | null;
    /** False when the group mirrors no legacy group (legacy-sync skips it unread). */
    legacy_linked: boolean;
  };
}

export interface UserGroupLegacyLinkChangedData {
  legacy_link: {
    group_id: string;
    legacy_type: LegacyType;
    legacy_id: string | null;
    course_key: string;
    occurred_at: string;
  };
}

export interface UserGroupRefreshRequestedData {
  refresh: {
    group_id: string;
    requested_by: string | null;
    trigger: 'user' | 'scheduled' | 'event';
    occurred_at: string;
  };
}

export interface UserGroupRefreshCompletedData {
  refresh: {
    group_id: string;
    run_id: string;
    trigger: 'user' | 'scheduled' | 'event';
    requested_by: string | null;
    added: number;
    removed: number;
    member_count: number;
    completed_at: string;
  };
}

/**
 * One chunk of an evaluation run's member set. Members ascend by user id within a chunk, and chunk
 * k's ids are above chunk k-1's: groups-service applies a run range by range. `chunks` is the run's
 * chunk count on its last chunk, and 0 on the chunks sent before the evaluator knew it (it sends
 * them as it reads, so that groups-service applies them while the evaluation goes on).
 */
export interface EvaluationSnapshotData {
  snapshot: {
    run_id: string;
    group_id: string;
    chunk: number;
    chunks: number;
    members: Array<{ user_id: number; username: string }>;
    trigger: 'user' | 'scheduled' | 'event';
    requested_by: string | null;
    evaluated_at: string;
  };
}

/** A group evaluator-service could not evaluate: it keeps its members, and shows why. */
export interface EvaluationFailedData {
  failure: {
    group_id: string;
    run_id: string;
    error: string;
    trigger: 'user' | 'scheduled' | 'event';
    requested_by: string | null;
    failed_at: string;
  };
}

/** One user re-evaluated against one dynamic group (an LMS event made them stale). */
export interface EvaluationUserResultData {
  result: {
    group_id: string;
    user_id: number;
    username: string;
    member: boolean;
    evaluated_at: string;
    cause_event_id?: string | null;
  };
}

/** The criterion types an evaluator has installed (built-ins and plugins), announced at its start. */
export interface CriterionTypesAnnouncedData {
  announcement: {
    source: string;
    announced_at: string;
    types: Array<{
      id: string;
      version: number;
      description: string;
      scopes: string[];
      value_type: string;
      /** JSON Schema of one value, JSON-encoded (for value_type `custom`). */
      value_schema: string | null;
      operators: string[];
      backend: string;
      default_refresh_seconds: number | null;
      stale_on: string[];
    }>;
    load_errors: Array<{ module: string; error: string }>;
  };
}

export interface LegacyMembershipObservedData {
  observation: {
    group_id: string;
    course_key: string;
    user_id: number;
    username: string;
    action: MembershipAction;
    observed_at: string;
    source_event_id: string;
    /** The echo of our own write: the occurred_at of the membership change it carried out. */
    echo_of_change_at?: string | null;
    /** Found by this reconciliation run (the LMS read at `observed_at`), not shown by an LMS event. */
    reconciliation_run_id?: string | null;
  };
}

export type LegacySyncStatus = 'synced' | 'rejected';

export interface LegacySyncCompletedData {
  sync_result: {
    group_id: string;
    user_id: number | null;
    status: LegacySyncStatus;
    error: string | null;
    legacy_type: LegacyType;
    legacy_id: string | null;
    occurred_at: string;
    /** The occurred_at of the membership change answered (null for a link result). */
    change_occurred_at: string | null;
    /** False when the LMS changed nothing (the learner was in the cohort already): no echo follows. */
    lms_echo_expected?: boolean;
  };
}

/** Maps each event type to its payload, so producers and handlers are checked by the compiler. */
export interface EventDataMap {
  [EventType.CohortMembershipChanged]: CohortMembershipChangedData;
  /** The cohort the learner left (its name), as COHORT_MEMBERSHIP_CHANGED names the one they joined. */
  [EventType.CohortMembershipRemoved]: CohortMembershipChangedData;
  [EventType.CourseEnrollmentCreated]: CourseEnrollmentData;
  [EventType.CourseEnrollmentChanged]: CourseEnrollmentData;
  [EventType.CourseUnenrollmentCompleted]: CourseEnrollmentData;
  [EventType.SessionLoginCompleted]: SessionLoginCompletedData;
  [EventType.PersistentGradeSummaryChanged]: PersistentCourseGradeData;
  [EventType.TeamMembershipAdded]: TeamMembershipChangedData;
  [EventType.TeamMembershipRemoved]: TeamMembershipChangedData;
  [EventType.UserGroupCreated]: UserGroupData;
  [EventType.UserGroupUpdated]: UserGroupData;
  [EventType.UserGroupDeleted]: UserGroupData;
  [EventType.UserGroupMembershipChanged]: UserGroupMembershipChangedData;
  [EventType.UserGroupLegacyLinkChanged]: UserGroupLegacyLinkChangedData;
  [EventType.UserGroupRefreshRequested]: UserGroupRefreshRequestedData;
  [EventType.UserGroupRefreshCompleted]: UserGroupRefreshCompletedData;
  [EventType.LegacyMembershipObserved]: LegacyMembershipObservedData;
  [EventType.LegacySyncCompleted]: LegacySyncCompletedData;
  [EventType.EvaluationSnapshot]: EvaluationSnapshotData;
  [EventType.EvaluationFailed]: EvaluationFailedData;
  [EventType.EvaluationUserResult]: EvaluationUserResultData;
  [EventType.CriterionTypesAnnounced]: CriterionTypesAnnouncedData;
}
