import { CriterionOperator } from '@groups-sync/contracts';
import { CriterionValues } from '@groups-sync/criteria-sdk';
import { IdSource } from '../criteria/aspects/aspects-clickhouse';
import { aspectsBackend } from '../criteria/aspects/days-since-last-activity.plugin';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { CriterionUnavailableError, GroupEvaluator, Member } from './group-evaluator';
import { LmsReplica } from './lms-replica';

const COURSE = { type: 'course' as const, key: 'course-v1:O+C+R' };
const DATABASES = { reporting: 'reporting', eventSink: 'event_sink' };
const LEARNERS = [1, 2, 3, 4, 5, 6].map((id) => ({ id, username: `u${id}` }));

/** The LMS's query stands in as the scope's learners (the user alone when the query names one). */
function replica(): LmsReplica {
  async function* stream<T>(_sql: string, params: unknown[]): AsyncGenerator<T> {
    const only = params.length > 1 ? params[params.length - 1] : undefined;
    for (const l of LEARNERS) if (only === undefined || l.id === only) yield l as T;
  }
  return { stream } as unknown as LmsReplica;
}

/** Aspects' answer, whatever the query: these learners' ids; it keeps the SQL it was sent. */
function clickHouse(ids: number[]): IdSource & { sql: string[] } {
  const sql: string[] = [];
  return {
    sql,
    async *ids(query: string) {
      sql.push(query);
      yield* ids;
    },
  };
}

const activity = (operator: CriterionOperator): CriterionValues => ({
  type: 'days_since_last_activity',
  operator,
  value: 7,
  config: {},
});

async function ids(members: AsyncIterable<Member>): Promise<number[]> {
  const out: number[] = [];
  for await (const m of members) out.push(m.id);
  return out;
}

describe('GroupEvaluator with an Aspects criterion', () => {
  const evaluator = (aspects: IdSource | null) =>
    new GroupEvaluator(new CriteriaRegistry([], [aspectsBackend(aspects, DATABASES)]), replica());

  it("intersects the scope's learners with the learners ClickHouse finds for <, <=, =", async () => {
    expect(await ids(evaluator(clickHouse([2, 4, 9])).members(COURSE, [activity('<')]))).toEqual([2, 4]);
  });

  it('subtracts them for >, >=, != (the learners with a visit who do not match): learners with no visit stay', async () => {
    expect(await ids(evaluator(clickHouse([2, 4, 9])).members(COURSE, [activity('>')]))).toEqual([1, 3, 5, 6]);
  });

  it('re-evaluates one user with a query narrowed to them', async () => {
    const aspects = clickHouse([4]);
    expect(await evaluator(aspects).selects(COURSE, [activity('>=')], 4)).toBe(false);
    expect(await evaluator(clickHouse([4])).selects(COURSE, [activity('>=')], 3)).toBe(true);
    expect(aspects.sql[0]).toContain('user_id = 4');
  });

  it('fails, saying why, when Aspects is not configured', () => {
    expect(() => evaluator(null).members(COURSE, [activity('<')])).toThrow(CriterionUnavailableError);
    expect(() => evaluator(null).members(COURSE, [activity('<')])).toThrow(
      'days_since_last_activity: needs Aspects, and ASPECTS_CLICKHOUSE_URL is not set',
    );
  });
});
