import { DataSource } from 'typeorm';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { MESSAGING_MIGRATIONS } from '../outbox/messaging-tables.migration';
import { OutboxRelay } from '../outbox/outbox-relay';

const env = stackEnv();

/** The statements `work` sends through the data source, with their parameters. */
async function captureQueries(
  dataSource: DataSource,
  work: () => Promise<unknown>,
): Promise<Array<{ sql: string; params: unknown[] }>> {
  const seen: Array<{ sql: string; params: unknown[] }> = [];
  const query = dataSource.query.bind(dataSource);
  const spy = jest.spyOn(dataSource, 'query').mockImplementation((sql: string, params?: unknown[]) => {
    seen.push({ sql, params: params ?? [] });
    return query(sql, params);
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return seen;
}

describe('inbox pruning', () => {
  const database = `inbox_prune_${uniqueSuffix()}_test`;
  let dataSource: DataSource;

  beforeAll(async () => {
    const flavor = await ensureDatabase(env.MYSQL_URL, database);
    dataSource = await new DataSource(
      dataSourceOptions({ url: env.MYSQL_URL, database, flavor, entities: [], migrations: MESSAGING_MIGRATIONS }),
    ).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(env.MYSQL_URL, database);
  });

  it('deletes only rows older than the retention, reading the processed_at index instead of the whole table', async () => {
    const recent = Array.from({ length: 5000 }, (_, i) => ['it.group', `recent-${i}`, 'it.type']);
    for (let i = 0; i < recent.length; i += 1000)
      await dataSource.query('INSERT INTO inbox (consumer_group, event_id, event_type) VALUES ?', [
        recent.slice(i, i + 1000),
      ]);
    const old = Array.from({ length: 20 }, (_, i) => [
      'it.group',
      `old-${i}`,
      'it.type',
      new Date(Date.now() - 30 * 86_400_000),
    ]);
    await dataSource.query('INSERT INTO inbox (consumer_group, event_id, event_type, processed_at) VALUES ?', [old]);
    await dataSource.query('ANALYZE TABLE inbox');

    const relay = new OutboxRelay(dataSource, {} as never, {} as never, { service: 'it', pollIntervalMs: 1000 });
    let pruned: { inbox: number } | undefined;
    const statements = await captureQueries(dataSource, async () => (pruned = await relay.prune()));
    expect(pruned?.inbox).toBe(20);

    const prune = statements.find((s) => /^DELETE FROM inbox\b/.test(s.sql))!;
    const [plan] = await dataSource.query(`EXPLAIN ${prune.sql}`, prune.params);
    expect({ key: plan.key, type: plan.type }).toEqual({ key: 'ix_inbox_processed_at', type: 'range' });
    const [{ n }] = await dataSource.query('SELECT COUNT(*) AS n FROM inbox');
    expect(Number(n)).toBe(5000);
  });
});
