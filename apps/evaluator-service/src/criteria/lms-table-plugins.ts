import { CRITERION_TYPES, CriterionOperator } from '@groups-sync/contracts';
import { CriterionPlugin, CriterionValues, EvaluationContext, SqlCondition } from '@groups-sync/criteria-sdk';

/**
 * The built-in criterion types, over the LMS's own tables (edx-platform's names) as a read replica
 * exposes them. Every condition is written so that SQL's NULLs cannot silently drop a learner: what
 * "no value" means is decided here, per operator, and written down in the evaluator's README.
 */

const COMPARE: Partial<Record<CriterionOperator, string>> = {
  '=': '=',
  '!=': '<>',
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
};

/** `column op ?` for comparisons; `in`/`not_in` for lists. Learners with no value match only negative operators. */
function compare(column: string, c: CriterionValues, value: unknown, joins: string[] = []): SqlCondition {
  const op = c.operator;
  if (op === 'in') return { joins, where: `${column} IN (?)`, params: [value] };
  if (op === 'not_in') return { joins, where: `(${column} IS NULL OR ${column} NOT IN (?))`, params: [value] };
  if (op === '!=') return { joins, where: `(${column} IS NULL OR ${column} <> ?)`, params: [value] };
  const sql = COMPARE[op];
  if (!sql) throw new Error(`operator ${op} is not one of this criterion's`);
  return { joins, where: `${column} ${sql} ?`, params: [value] };
}

function presence(column: string, c: CriterionValues, joins: string[]): SqlCondition | null {
  if (c.operator === 'exists') return { joins, where: `(${column} IS NOT NULL AND ${column} <> '')`, params: [] };
  if (c.operator === 'not_exists') return { joins, where: `(${column} IS NULL OR ${column} = '')`, params: [] };
  return null;
}

const courseOnly = (context: EvaluationContext) => {
  if (context.scope.type !== 'course') throw new Error('this criterion needs a course scope');
};

/** The calendar date (UTC) of an ISO date or date-time. */
export function calendarDate(value: string): string {
  return new Date(value).toISOString().slice(0, 10);
}

export const lastLogin: CriterionPlugin = {
  spec: CRITERION_TYPES.last_login,
  // Days since the last login, whole days; never logged in counts as more than any number of days.
  toSql: (c, { now }) => {
    const days = 'TIMESTAMPDIFF(DAY, u.last_login, ?)';
    const op = c.operator;
    if (op === '>' || op === '>=' || op === '!=')
      return { joins: [], where: `(u.last_login IS NULL OR ${days} ${COMPARE[op]} ?)`, params: [now, c.value] };
    return { joins: [], where: `(u.last_login IS NOT NULL AND ${days} ${COMPARE[op]} ?)`, params: [now, c.value] };
  },
};

export const enrollmentMode: CriterionPlugin = {
  spec: CRITERION_TYPES.enrollment_mode,
  // The mode of the learner's active enrollment in the scope's course (the scope requires one).
  toSql: (c, context) => {
    courseOnly(context);
    return compare('e.mode', c, c.value);
  },
};

export const enrollmentDate: CriterionPlugin = {
  spec: CRITERION_TYPES.enrollment_date,
  // The calendar date (UTC) the learner enrolled, compared with the value's calendar date.
  toSql: (c, context) => {
    courseOnly(context);
    return compare('DATE(e.created)', c, calendarDate(c.value as string));
  },
};

export const country: CriterionPlugin = {
  spec: CRITERION_TYPES.country,
  // The profile's country (ISO 3166-1 alpha-2); no profile or an empty country is "no country".
  toSql: (c, { alias }) => {
    const joins = [`LEFT JOIN auth_userprofile ${alias} ON ${alias}.user_id = u.id`];
    const column = `NULLIF(${alias}.country, '')`;
    return presence(`${alias}.country`, c, joins) ?? compare(column, c, c.value, joins);
  },
};

export const language: CriterionPlugin = {
  spec: CRITERION_TYPES.language,
  // The `pref-lang` preference, compared without case; `contains` finds the value inside it (`en` in `en-gb`).
  toSql: (c, { alias }) => {
    const joins = [
      `LEFT JOIN user_api_userpreference ${alias} ON ${alias}.user_id = u.id AND ${alias}.\`key\` = 'pref-lang'`,
    ];
    const column = `LOWER(NULLIF(${alias}.value, ''))`;
    const lower = (v: unknown) => (Array.isArray(v) ? v.map((x) => String(x).toLowerCase()) : String(v).toLowerCase());
    if (c.operator === 'contains')
      return { joins, where: `${column} LIKE CONCAT('%', ?, '%')`, params: [lower(c.value)] };
    if (c.operator === 'not_contains')
      return {
        joins,
        where: `(${column} IS NULL OR ${column} NOT LIKE CONCAT('%', ?, '%'))`,
        params: [lower(c.value)],
      };
    return presence(`${alias}.value`, c, joins) ?? compare(column, c, lower(c.value), joins);
  },
};

export const isStaff: CriterionPlugin = {
  spec: CRITERION_TYPES.is_staff,
  toSql: (c) => compare('u.is_staff', c, c.value ? 1 : 0),
};

export const courseGrade: CriterionPlugin = {
  spec: CRITERION_TYPES.course_grade,
  // The persisted course grade in percent, rounded to 2 decimals; no grade yet counts as 0.
  toSql: (c, context) => {
    courseOnly(context);
    const { alias } = context;
    const joins = [
      `LEFT JOIN grades_persistentcoursegrade ${alias} ON ${alias}.user_id = u.id AND ${alias}.course_id = ?`,
    ];
    return {
      ...compare(`ROUND(COALESCE(${alias}.percent_grade, 0) * 100, 2)`, c, c.value, joins),
      joinParams: [context.scope.key],
    };
  },
};

export const LMS_TABLE_PLUGINS: CriterionPlugin[] = [
  lastLogin,
  enrollmentMode,
  enrollmentDate,
  country,
  language,
  isStaff,
  courseGrade,
];
