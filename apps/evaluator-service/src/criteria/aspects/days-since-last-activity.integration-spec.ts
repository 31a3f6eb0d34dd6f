import { createClient } from '@clickhouse/client';
import { CriterionOperator } from '@groups-sync/contracts';
import { isDependencyUnavailable } from '@groups-sync/messaging';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { GroupEvaluator, Member } from '../../evaluation/group-evaluator';
import { LmsReplica } from '../../evaluation/lms-replica';
import { CriteriaRegistry } from '../criteria-registry';
import { AspectsClickHouse } from './aspects-clickhouse';
import { aspectsBackend } from './days-since-last-activity.plugin';

/**
 * Against a real ClickHouse (scripts/clickhouse.sh: Debian's clickhouse-server), with tables shaped
 * as Aspects creates them; every operator's member set is checked against a brute-force filter of
 * the same rows. The LMS's side (the course's learners) is a list here: ClickHouse is under test.
 */
const URL = stackEnv().CLICKHOUSE_URL;
const suffix = uniqueSuffix();
const DATABASES = { reporting: `test_reporting_${suffix}`, eventSink: `test_event_sink_${suffix}` };
const DAY = 86_400;
const NOW = new Date('2026-11-29T12:00:00.400Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const COURSES = ['course-v1:OrgA+C1+2026', 'course-v1:OrgA+C2+2026', 'OrgB/C3/2026'];
const OPERATORS: CriterionOperator[] = ['=', '!=', '>', '>=', '<', '<='];
const VALUES = [0, 1, 3, 7, 30];

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uuid = (n: number, kind: number) =>
  `00000000-0000-4000-8000-${(kind * 1_000_000 + n).toString(16).padStart(12, '0')}`;

interface Visit {
  course: string;
  actor: string;
  at: number;
}

/** Learners, their course enrollments (the LMS's side), their external ids and their visits as Aspects records them. */
function dataset(seed: number) {
  const next = random(seed);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
  const users = Array.from({ length: 240 }, (_, i) => 1 + i * 3 + Math.floor(next() * 3));
  const enrolled = new Map(COURSES.map((c) => [c, users.filter(() => next() < 0.6)]));
  const externalIds: Array<{ id: string; type: string; user: number; dumped: string }> = [];
  const xapiActor = new Map<number, string>();
  for (const user of users) {
    if (next() < 0.1) continue; // no external id in the sink yet: their visits cannot be attributed
    xapiActor.set(user, uuid(user, 1));
    externalIds.push({ id: uuid(user, 1), type: 'xapi', user, dumped: '2026-01-01 00:00:00' });
    if (next() < 0.2) externalIds.push({ id: uuid(user, 1), type: 'xapi', user, dumped: '2026-06-01 00:00:00' }); // dumped again
    if (next() < 0.2) externalIds.push({ id: uuid(user, 2), type: 'lti', user, dumped: '2026-01-01 00:00:00' }); // not an xAPI actor
  }
  // Ages at and around the day boundaries, and visits after the evaluation's time.
  const ages = [
    -7200,
    -1,
    0,
    1,
    3600,
    DAY - 1,
    DAY,
    DAY + 1,
    3 * DAY,
    7 * DAY - 1,
    7 * DAY,
    8 * DAY,
    30 * DAY,
    31 * DAY - 1,
    45 * DAY,
  ];
  const visits: Visit[] = [];
  for (const user of users) {
    for (const course of COURSES) {
      if (next() < 0.35) continue;
      const actors = [uuid(user, 1), ...(next() < 0.1 ? [uuid(user, 2)] : [])]; // an LTI actor's visits do not count
      for (let k = Math.floor(next() * 3); k >= 0; k--)
        visits.push({
          course,
          actor: pick(actors),
          at: NOW_S - (next() < 0.5 ? pick(ages) : Math.floor(next() * 50 * DAY)),
        });
    }
  }
  return { enrolled, externalIds, xapiActor, visits };
}

function expected(
  data: ReturnType<typeof dataset>,
  course: string,
  operator: CriterionOperator,
  value: number,
): number[] {
  return data.enrolled.get(course)!.filter((user) => {
    const actor = data.xapiActor.get(user);
    const times = data.visits
      .filter((v) => v.course === course && v.actor === actor && actor !== undefined)
      .map((v) => v.at);
    if (!times.length) return ['>', '>=', '!='].includes(operator);
    const days = Math.max(0, Math.floor((NOW_S - Math.max(...times)) / DAY));
    return {
      '=': days === value,
      '!=': days !== value,
      '>': days > value,
      '>=': days >= value,
      '<': days < value,
      '<=': days <= value,
    }[operator as string];
  });
}

/** The LMS's query for a course scope, as a list: the course's learners, ascending (or the one user asked about). */
function lms(enrolled: Map<string, number[]>): LmsReplica {
  async function* stream<T>(_sql: string, params: unknown[]): AsyncGenerator<T> {
    const [course, only] = params as [string, number | undefined];
    for (const id of enrolled.get(course) ?? [])
      if (only === undefined || id === only) yield { id, username: `u${id}` } as T;
  }
  return { stream } as unknown as LmsReplica;
}

async function ids(members: AsyncIterable<Member | number>): Promise<number[]> {
  const out: number[] = [];
  for await (const m of members) out.push(typeof m === 'number' ? m : m.id);
  return out;
}

describe('days_since_last_activity on ClickHouse', () => {
  const admin = createClient({ url: URL, request_timeout: 60_000 });
  const clickHouse = new AspectsClickHouse({ url: URL, username: 'default', database: DATABASES.reporting });
  const data = dataset(20261129);
  let evaluator: GroupEvaluator;

  beforeAll(async () => {
    const version = await admin
      .query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })
      .then((r) => r.json<{ v: string }>())
      .catch((error: Error) => {
        throw new Error(
          `no ClickHouse answers on ${URL} (${error.message}): run \`bash scripts/clickhouse.sh up\` (npm test does), or set CLICKHOUSE_URL`,
        );
      });
    process.stdout.write(`ClickHouse ${version[0].v} on ${URL}\n`);
    for (const db of Object.values(DATABASES)) await admin.command({ query: `CREATE DATABASE ${db}` });
    // As Aspects creates them: aspects-dbt models/navigation/dim_learner_last_course_visit.sql (its
    // materialized view's target) and tutor-contrib-aspects migration 0026_event_sink_external_id.py.
    await admin.command({
      query: `CREATE TABLE ${DATABASES.reporting}.dim_learner_last_course_visit (org String, course_key String, actor_id String, emission_time DateTime)
      ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(emission_time) ORDER BY (org, course_key, actor_id)`,
    });
    await admin.command({
      query: `CREATE TABLE ${DATABASES.eventSink}.external_id (external_user_id UUID, external_id_type String, username String, user_id Int32, dump_id UUID, time_last_dumped String)
      ENGINE = ReplacingMergeTree() PARTITION BY user_id % 100 ORDER BY (external_user_id, time_last_dumped)`,
    });
    const org = (course: string) =>
      course.startsWith('course-v1:') ? course.slice(10).split('+')[0] : course.split('/')[0];
    const insert = async (table: string, rows: string[]) => {
      for (let i = 0; i < rows.length; i += 500)
        await admin.command({ query: `INSERT INTO ${table} VALUES ${rows.slice(i, i + 500).join(', ')}` });
    };
    await insert(
      `${DATABASES.eventSink}.external_id`,
      data.externalIds.map((e) => `('${e.id}', '${e.type}', 'u${e.user}', ${e.user}, '${uuid(1, 9)}', '${e.dumped}')`),
    );
    // One row per insert block and learner, as the materialized view writes them: several per learner until merged.
    await insert(
      `${DATABASES.reporting}.dim_learner_last_course_visit`,
      data.visits.map((v) => `('${org(v.course)}', '${v.course}', '${v.actor}', toDateTime(${v.at}))`),
    );
    evaluator = new GroupEvaluator(
      new CriteriaRegistry([], [aspectsBackend(clickHouse, DATABASES)]),
      lms(data.enrolled),
    );
  });

  afterAll(async () => {
    for (const db of Object.values(DATABASES))
      await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
    await admin.close();
    await clickHouse.onApplicationShutdown();
  });

  it('selects, for every operator and value, exactly the learners a brute-force filter of the same rows selects', async () => {
    let checked = 0;
    let partial = 0; // cases where some but not all of the course's learners match: the data tells operators apart
    for (const course of COURSES) {
      for (const operator of OPERATORS) {
        for (const value of VALUES) {
          const criteria = [{ type: 'days_since_last_activity', operator, value, config: {} }];
          const got = await ids(evaluator.members({ type: 'course', key: course }, criteria, NOW));
          const want = expected(data, course, operator, value);
          expect({ course, operator, value, members: got }).toEqual({ course, operator, value, members: want });
          checked++;
          if (want.length > 0 && want.length < data.enrolled.get(course)!.length) partial++;
        }
      }
    }
    expect(checked).toBe(COURSES.length * OPERATORS.length * VALUES.length);
    expect(partial).toBeGreaterThan(checked * 0.8); // not `>= 0` (everyone) nor `< 0` (no one), and few others
  });

  it('re-evaluates one learner with the same answer as the full evaluation', async () => {
    const course = COURSES[0];
    const criteria = [{ type: 'days_since_last_activity', operator: '>' as const, value: 7, config: {} }];
    const members = new Set(expected(data, course, '>', 7));
    for (const user of data.enrolled.get(course)!.slice(0, 20))
      expect(await evaluator.selects({ type: 'course', key: course }, criteria, user, NOW)).toBe(members.has(user));
  });

  it('lets go of a result left early: more abandoned streams than the client has sockets, then a full one', async () => {
    const sql = `SELECT toInt32(number) AS id FROM system.numbers LIMIT 200000`;
    for (let i = 0; i < 15; i++) {
      for await (const id of clickHouse.ids(sql)) if (id >= 0) break;
    }
    let count = 0;
    for await (const id of clickHouse.ids(sql)) count += id >= 0 ? 1 : 0;
    expect(count).toBe(200_000);
  });

  it('fails with a plain error naming ClickHouse, so only the groups that need it fail', async () => {
    const error = await ids(clickHouse.ids(`SELECT 1 AS id FROM ${DATABASES.reporting}.no_such_table`)).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Aspects ClickHouse: .*no_such_table/);
    expect(isDependencyUnavailable(error)).toBe(false);
    const down = new AspectsClickHouse({ url: 'http://127.0.0.1:9', username: 'default', database: 'default' });
    const refused = await ids(down.ids('SELECT 1 AS id')).catch((e: Error) => e);
    expect(isDependencyUnavailable(refused)).toBe(false);
    await down.onApplicationShutdown();
  });
});
