import fc from 'fast-check';
import { Connection, createConnection } from 'mysql2/promise';
import { CRITERION_TYPES, CriterionOperator, ScopeType } from '@groups-sync/contracts';
import { CriterionValues, EvaluationScope } from '@groups-sync/criteria-sdk';
import { dropDatabase, parseMysqlUrl } from '@groups-sync/persistence';
import { ServiceProcess, stackEnv, testPort, uniqueSuffix } from '@groups-sync/testing';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { calendarDate } from '../criteria/lms-table-plugins';
import { GroupEvaluator } from './group-evaluator';
import { LmsReplica } from './lms-replica';

/**
 * Random LMS data and random valid criteria (1 to 3, every built-in type and operator) → the
 * evaluator's member set equals a brute-force filter of the same rows in memory, written here
 * from the operators' meanings (evaluator README), not from the SQL.
 */
const env = stackEnv();
const NOW = new Date('2026-11-29T12:00:00Z');
const COURSE_A = 'course-v1:OrgX+A+2026';
const COURSE_B = 'course-v1:OrgY+B+2026';
const MODES = ['audit', 'verified', 'honor'];
const COUNTRIES = ['ES', 'FR', 'US'];
const LANGS = ['es', 'en-gb', 'EN', 'pt-br'];
const DAY = 86_400_000;

interface Learner {
  id: number;
  active: boolean;
  staff: boolean;
  lastLoginMsAgo: number | null;
  country: string | null;
  lang: string | null;
  enrollments: Array<{ course: string; mode: string; active: boolean; daysAgo: number }>;
  grade: number | null; // percent_grade in course A, 0..1 with 4 decimals
}

const learner = fc.record({
  active: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(true), fc.boolean()),
  staff: fc.boolean(),
  lastLoginMsAgo: fc.option(fc.integer({ min: 0, max: 60 * DAY }), { nil: null }),
  country: fc.option(fc.constantFrom(...COUNTRIES, ''), { nil: null }),
  lang: fc.option(fc.constantFrom(...LANGS), { nil: null }),
  enrollments: fc.uniqueArray(
    fc.record({
      course: fc.constantFrom(COURSE_A, COURSE_B),
      mode: fc.constantFrom(...MODES),
      active: fc.boolean(),
      daysAgo: fc.integer({ min: 0, max: 40 }),
    }),
    { selector: (e) => e.course, maxLength: 2 },
  ),
  grade: fc.option(
    fc.integer({ min: 0, max: 10_000 }).map((k) => k / 10_000),
    { nil: null },
  ),
});

function valueFor(type: string, operator: CriterionOperator): fc.Arbitrary<unknown> {
  if (operator === 'exists' || operator === 'not_exists') return fc.constant(null);
  const one: Record<string, fc.Arbitrary<unknown>> = {
    last_login: fc.integer({ min: 0, max: 60 }),
    enrollment_mode: fc.constantFrom(...MODES),
    enrollment_date: fc
      .integer({ min: 0, max: 40 })
      .map((d) => calendarDate(new Date(NOW.getTime() - d * DAY).toISOString())),
    country: fc.constantFrom(...COUNTRIES),
    language: fc.constantFrom('es', 'en', 'en-gb', 'pt-br'),
    is_staff: fc.boolean(),
    course_grade: fc.constantFrom(0, 25, 50, 62.5, 70, 100),
  };
  return operator === 'in' || operator === 'not_in'
    ? fc.uniqueArray(one[type], { minLength: 1, maxLength: 3 })
    : one[type];
}

function criterionFor(scope: ScopeType): fc.Arbitrary<CriterionValues> {
  const types = Object.values(CRITERION_TYPES).filter((t) => t.backend === 'lms_db' && t.scopes.includes(scope));
  return fc
    .constantFrom(...types)
    .chain((spec) =>
      fc
        .constantFrom(...spec.operators)
        .chain((operator) =>
          valueFor(spec.id, operator).map((value) => ({ type: spec.id, operator, value, config: {} })),
        ),
    );
}

const scopeArb = fc.constantFrom<EvaluationScope>(
  { type: 'course', key: COURSE_A },
  { type: 'org', key: 'OrgX' },
  { type: 'instance', key: '' },
);

// ---- the meaning of each operator, in memory ----
function cmp(op: CriterionOperator, a: number | string, b: number | string): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    default:
      throw new Error(op);
  }
}

/** A value compared, or absent (null): absent matches only `!=` and `not_in` (and `not_exists`). */
function matchValue(op: CriterionOperator, actual: number | string | null, value: unknown): boolean {
  if (op === 'exists') return actual !== null;
  if (op === 'not_exists') return actual === null;
  if (op === 'in') return actual !== null && (value as unknown[]).includes(actual);
  if (op === 'not_in') return actual === null || !(value as unknown[]).includes(actual);
  if (actual === null) return op === '!=';
  return cmp(op, actual, value as number | string);
}

function matches(l: Learner, c: CriterionValues, scope: EvaluationScope): boolean {
  const enrollment = l.enrollments.find((e) => e.course === scope.key && e.active);
  switch (c.type) {
    case 'last_login': {
      // Never logged in: more than any number of days.
      const days = l.lastLoginMsAgo === null ? Infinity : Math.floor(l.lastLoginMsAgo / DAY);
      return cmp(c.operator, days, c.value as number);
    }
    case 'enrollment_mode':
      return matchValue(c.operator, enrollment!.mode, c.value);
    case 'enrollment_date':
      return matchValue(
        c.operator,
        calendarDate(new Date(NOW.getTime() - enrollment!.daysAgo * DAY).toISOString()),
        c.value,
      );
    case 'country':
      return matchValue(c.operator, l.country || null, c.value);
    case 'language': {
      const lang = l.lang ? l.lang.toLowerCase() : null;
      if (c.operator === 'contains') return lang !== null && lang.includes(String(c.value));
      if (c.operator === 'not_contains') return lang === null || !lang.includes(String(c.value));
      return matchValue(
        c.operator,
        lang,
        Array.isArray(c.value) ? c.value.map((v) => String(v).toLowerCase()) : String(c.value ?? '').toLowerCase(),
      );
    }
    case 'is_staff':
      return matchValue(c.operator, l.staff ? 1 : 0, c.value ? 1 : 0);
    case 'course_grade':
      return matchValue(c.operator, Math.round((l.grade ?? 0) * 100 * 100) / 100, c.value);
    default:
      throw new Error(c.type);
  }
}

function inScope(l: Learner, scope: EvaluationScope): boolean {
  if (!l.active) return false;
  if (scope.type === 'course') return l.enrollments.some((e) => e.course === scope.key && e.active);
  if (scope.type === 'org')
    return l.enrollments.some((e) => e.active && e.course.startsWith(`course-v1:${scope.key}+`));
  return true;
}

describe('GroupEvaluator against a brute-force filter (property, real MariaDB)', () => {
  const database = `lms_${uniqueSuffix().replace(/-/g, '_')}_eval_test`;
  const emulator = new ServiceProcess(
    'lms-emulator',
    testPort(7),
    {
      ...env,
      DB_NAME: database,
      EVENT_BUS_TOPIC_PREFIX: `it-${uniqueSuffix()}`,
      EMIT_EVENTS: 'false',
      LOG_LEVEL: 'warn',
    },
    'evaluator-property-lms',
  );
  let conn: Connection;
  let replica: LmsReplica;
  let evaluator: GroupEvaluator;

  beforeAll(async () => {
    await emulator.start(); // creates edx-platform's tables in its database
    const { host, port, username, password } = parseMysqlUrl(env.MYSQL_URL);
    conn = await createConnection({ host, port, user: username, password, database });
    replica = new LmsReplica(`${env.MYSQL_URL}/${database}`, 0);
    evaluator = new GroupEvaluator(new CriteriaRegistry(), replica);
  }, 120_000);

  afterAll(async () => {
    await replica?.close();
    await conn?.end();
    await emulator.stop();
    await dropDatabase(env.MYSQL_URL, database).catch(() => undefined);
  });

  async function load(learners: Learner[]): Promise<void> {
    for (const t of [
      'grades_persistentcoursegrade',
      'user_api_userpreference',
      'auth_userprofile',
      'student_courseenrollment',
      'auth_user',
    ])
      await conn.query(`DELETE FROM ${t}`);
    for (const l of learners) {
      await conn.query(
        'INSERT INTO auth_user (id, username, email, is_active, is_staff, last_login, date_joined) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          l.id,
          `u${l.id}`,
          `u${l.id}@example.com`,
          l.active ? 1 : 0,
          l.staff ? 1 : 0,
          l.lastLoginMsAgo === null ? null : new Date(NOW.getTime() - l.lastLoginMsAgo),
          NOW,
        ],
      );
      if (l.country !== null)
        await conn.query('INSERT INTO auth_userprofile (user_id, country) VALUES (?, ?)', [l.id, l.country]);
      if (l.lang !== null)
        await conn.query('INSERT INTO user_api_userpreference (user_id, `key`, value) VALUES (?, ?, ?)', [
          l.id,
          'pref-lang',
          l.lang,
        ]);
      for (const e of l.enrollments) {
        await conn.query(
          'INSERT INTO student_courseenrollment (user_id, course_id, mode, is_active, created) VALUES (?, ?, ?, ?, ?)',
          [l.id, e.course, e.mode, e.active ? 1 : 0, new Date(NOW.getTime() - e.daysAgo * DAY - 3_600_000)],
        );
      }
      if (l.grade !== null)
        await conn.query(
          'INSERT INTO grades_persistentcoursegrade (user_id, course_id, percent_grade) VALUES (?, ?, ?)',
          [l.id, COURSE_A, l.grade],
        );
    }
  }

  it('selects exactly the learners the criteria mean (100 cases)', async () => {
    const data = fc
      .array(learner, { minLength: 1, maxLength: 25 })
      .map((ls) => ls.map((l, i) => ({ ...l, id: i + 1 }) as Learner));
    const group = scopeArb.chain((scope) =>
      fc.array(criterionFor(scope.type), { minLength: 1, maxLength: 3 }).map((criteria) => ({ scope, criteria })),
    );
    await fc.assert(
      fc.asyncProperty(data, group, async (learners, { scope, criteria }) => {
        await load(learners);
        const got: number[] = [];
        for await (const m of evaluator.members(scope, criteria, NOW)) got.push(m.id);
        const expected = learners
          .filter((l) => inScope(l, scope) && criteria.every((c) => matches(l, c, scope)))
          .map((l) => l.id);
        expect({ scope, criteria, members: got }).toEqual({ scope, criteria, members: expected });
      }),
      { numRuns: 100, endOnFailure: true },
    );
  }, 300_000);
});
