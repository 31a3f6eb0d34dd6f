import { CriterionOperator } from '@groups-sync/contracts';
import { EvaluatedIds, isExcept } from '@groups-sync/criteria-sdk';
import { CriteriaRegistry } from '../criteria-registry';
import { IdSource } from './aspects-clickhouse';
import { aspectsBackend, daysSinceLastActivity } from './days-since-last-activity.plugin';

const DATABASES = { reporting: 'reporting', eventSink: 'event_sink' };

function source(ids: number[]): IdSource & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    async *ids(sql: string) {
      queries.push(sql);
      yield* ids;
    },
  };
}

async function collect(ids: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const id of ids) out.push(id);
  return out;
}

const evaluate = (operator: CriterionOperator, from: IdSource): EvaluatedIds =>
  daysSinceLastActivity(from, DATABASES).evaluate!(
    { type: 'days_since_last_activity', operator, value: 7, config: {} },
    { scope: { type: 'course', key: 'course-v1:O+C+R' }, now: new Date(), alias: 'x0' },
  );

describe('days_since_last_activity', () => {
  it.each(['<', '<=', '='] as const)(
    'gives the ids ClickHouse streams as the matching learners for %s',
    async (operator) => {
      const clickHouse = source([3, 8]);
      const ids = evaluate(operator, clickHouse);
      expect(isExcept(ids)).toBe(false);
      expect(await collect(ids as AsyncIterable<number>)).toEqual([3, 8]);
      expect(clickHouse.queries).toEqual([expect.stringContaining('dim_learner_last_course_visit')]);
    },
  );

  it.each(['>', '>=', '!='] as const)(
    'gives them as the learners to leave out for %s: a learner with no visit matches',
    async (operator) => {
      const ids = evaluate(operator, source([3, 8]));
      expect(isExcept(ids)).toBe(true);
      expect(await collect((ids as { except: AsyncIterable<number> }).except)).toEqual([3, 8]);
    },
  );

  it('queries nothing until its stream is read', () => {
    const clickHouse = source([1]);
    evaluate('<', clickHouse);
    expect(clickHouse.queries).toEqual([]);
  });
});

describe('aspectsBackend', () => {
  it('installs the type when ClickHouse is configured', () => {
    const registry = new CriteriaRegistry([], [aspectsBackend(source([]), DATABASES)]);
    expect(registry.get('days_since_last_activity')?.spec.backend).toBe('aspects');
    expect(registry.unavailable('days_since_last_activity')).toBeUndefined();
  });

  it('leaves the type out, with the reason, when ClickHouse is not configured', () => {
    const registry = new CriteriaRegistry([], [aspectsBackend(null, DATABASES)]);
    expect(registry.get('days_since_last_activity')).toBeUndefined();
    expect(registry.all().map((p) => p.spec.id)).not.toContain('days_since_last_activity');
    expect(registry.unavailable('days_since_last_activity')).toContain('ASPECTS_CLICKHOUSE_URL is not set');
    expect(registry.unavailable('last_login')).toBeUndefined();
  });
});
