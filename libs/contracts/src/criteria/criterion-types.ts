import { EventType } from '../event-types';

export type ScopeType = 'course' | 'org' | 'instance';
export const SCOPE_TYPES: ScopeType[] = ['course', 'org', 'instance'];

export type CriterionOperator =
  '=' | '!=' | '>' | '>=' | '<' | '<=' | 'in' | 'not_in' | 'contains' | 'not_contains' | 'exists' | 'not_exists';
export const OPERATORS: CriterionOperator[] = [
  '=',
  '!=',
  '>',
  '>=',
  '<',
  '<=',
  'in',
  'not_in',
  'contains',
  'not_contains',
  'exists',
  'not_exists',
];

/** What a criterion's value must be: checked by validateCriterion. */
export type CriterionValueType =
  'days' | 'date' | 'enrollment_mode' | 'country_code' | 'language_code' | 'boolean' | 'percent' | 'none' | 'custom';

export type CriterionBackend = 'lms_db' | 'legacy' | 'aspects';

export interface CriterionTypeSpec {
  id: string;
  version: number;
  description: string;
  scopes: ScopeType[];
  valueType: CriterionValueType;
  operators: CriterionOperator[];
  /** JSON Schema one value must match (each item, for `in`/`not_in`); required for value type `custom` (a plugin's own values). */
  valueSchema?: Record<string, unknown>;
  backend: CriterionBackend;
  /** How often a dynamic group using it is refreshed unless the group overrides it; null for legacy links. */
  defaultRefreshSeconds: number | null;
  /** Events that can change who matches, so a user is re-evaluated when one arrives. */
  staleOn: string[];
  /** Legacy criteria link a group to a legacy group instead of selecting users. */
  legacy?: {
    kind: 'cohort' | 'team' | 'enrollment_track';
    config: Record<string, 'positive_integer' | 'string' | 'enrollment_mode' | 'boolean'>;
    oneOf?: string[];
    readOnly?: boolean;
    /** A config field that, when true, makes the link read-only (a whole teamset) and needs this other field. */
    readOnlyFlag?: { field: string; requires: string };
  };
}

const LOGIN_COMPLETED = 'org.openedx.learning.auth.session.login.completed.v1';
const ENROLLMENT_EVENTS = [
  EventType.CourseEnrollmentCreated,
  EventType.CourseEnrollmentChanged,
  EventType.CourseUnenrollmentCompleted,
];
const COMPARISON: CriterionOperator[] = ['=', '!=', '>', '>=', '<', '<='];
const MEMBERSHIP: CriterionOperator[] = ['=', '!=', 'in', 'not_in'];
const HOUR = 3600;

/** Enrollment modes of edx-platform's CourseMode (credit counts as verified for enrollment-track groups). */
export const ENROLLMENT_MODES = [
  'audit',
  'honor',
  'verified',
  'professional',
  'no-id-professional',
  'credit',
  'masters',
  'executive-education',
  'unpaid-executive-education',
  'paid-executive-education',
  'unpaid-bootcamp',
  'paid-bootcamp',
];

/** The catalogue of criterion types, shared by groups-service (validation) and evaluator-service (evaluation). */
export const CRITERION_TYPES: Record<string, CriterionTypeSpec> = {
  last_login: {
    id: 'last_login',
    version: 1,
    description: 'Days since the learner last logged in',
    scopes: ['course', 'org', 'instance'],
    valueType: 'days',
    operators: COMPARISON,
    backend: 'lms_db',
    defaultRefreshSeconds: 24 * HOUR,
    staleOn: [LOGIN_COMPLETED],
  },
  enrollment_mode: {
    id: 'enrollment_mode',
    version: 1,
    description: "Mode of the learner's active enrollment in the course",
    scopes: ['course'],
    valueType: 'enrollment_mode',
    operators: MEMBERSHIP,
    backend: 'lms_db',
    defaultRefreshSeconds: 6 * HOUR,
    staleOn: ENROLLMENT_EVENTS,
  },
  enrollment_date: {
    id: 'enrollment_date',
    version: 1,
    description: 'Date the learner enrolled in the course',
    scopes: ['course'],
    valueType: 'date',
    operators: COMPARISON,
    backend: 'lms_db',
    defaultRefreshSeconds: 24 * HOUR,
    staleOn: ENROLLMENT_EVENTS,
  },
  country: {
    id: 'country',
    version: 1,
    description: "Country of the learner's profile (ISO 3166-1 alpha-2)",
    scopes: ['course', 'org', 'instance'],
    valueType: 'country_code',
    operators: [...MEMBERSHIP, 'exists', 'not_exists'],
    backend: 'lms_db',
    defaultRefreshSeconds: 24 * HOUR,
    staleOn: [],
  },
  language: {
    id: 'language',
    version: 1,
    description: 'Language preference of the learner (BCP 47)',
    scopes: ['course', 'org', 'instance'],
    valueType: 'language_code',
    operators: [...MEMBERSHIP, 'contains', 'not_contains', 'exists', 'not_exists'],
    backend: 'lms_db',
    defaultRefreshSeconds: 24 * HOUR,
    staleOn: [],
  },
  is_staff: {
    id: 'is_staff',
    version: 1,
    description: 'Whether the user is global staff',
    scopes: ['course', 'org', 'instance'],
    valueType: 'boolean',
    operators: ['=', '!='],
    backend: 'lms_db',
    defaultRefreshSeconds: 24 * HOUR,
    staleOn: [],
  },
  course_grade: {
    id: 'course_grade',
    version: 1,
    description: "The learner's current grade in the course, in percent",
    scopes: ['course'],
    valueType: 'percent',
    operators: COMPARISON,
    backend: 'lms_db',
    defaultRefreshSeconds: 6 * HOUR,
    staleOn: [EventType.PersistentGradeSummaryChanged],
  },
  days_since_last_activity: {
    id: 'days_since_last_activity',
    version: 1,
    description: 'Days since the learner last visited the course (Aspects)',
    scopes: ['course'],
    valueType: 'days',
    operators: COMPARISON,
    backend: 'aspects',
    defaultRefreshSeconds: 24 * HOUR,
    staleOn: [],
  },
  legacy_cohort: {
    id: 'legacy_cohort',
    version: 1,
    description: 'Mirrors a cohort (created when cohort_id is omitted)',
    scopes: ['course'],
    valueType: 'none',
    operators: ['='],
    backend: 'legacy',
    defaultRefreshSeconds: null,
    staleOn: [EventType.CohortMembershipChanged],
    legacy: { kind: 'cohort', config: { cohort_id: 'positive_integer' } },
  },
  legacy_team: {
    id: 'legacy_team',
    version: 1,
    description:
      "Mirrors a team (team_id; or a new team in teamset_id), or read-only the union of a teamset's teams (teamset_id with whole_teamset)",
    scopes: ['course'],
    valueType: 'none',
    operators: ['='],
    backend: 'legacy',
    defaultRefreshSeconds: null,
    staleOn: [],
    legacy: {
      kind: 'team',
      config: { team_id: 'string', teamset_id: 'string', whole_teamset: 'boolean' },
      oneOf: ['team_id', 'teamset_id'],
      readOnlyFlag: { field: 'whole_teamset', requires: 'teamset_id' },
    },
  },
  legacy_enrollment_track: {
    id: 'legacy_enrollment_track',
    version: 1,
    description: 'Mirrors an enrollment track (read-only)',
    scopes: ['course'],
    valueType: 'none',
    operators: ['='],
    backend: 'legacy',
    defaultRefreshSeconds: null,
    staleOn: ENROLLMENT_EVENTS,
    legacy: { kind: 'enrollment_track', config: { mode: 'enrollment_mode' }, oneOf: ['mode'], readOnly: true },
  },
};
