import { DataSource } from 'typeorm';
import { MESSAGING_MIGRATIONS } from '@groups-sync/messaging';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { LegacySync1763700000300 } from '../migrations/1763700000300-legacy-sync.migration';
import { PendingWriteChangeTime1764000000300 } from '../migrations/1764000000300-pending-write-change-time.migration';
import { Reconciliation1764100000300 } from '../migrations/1764100000300-reconciliation.migration';
import { PendingWritePruneIndex1764400000300 } from '../migrations/1764400000300-pending-write-prune-index.migration';
import { PendingWritesJanitor } from './pending-writes.janitor';

const env = stackEnv();

describe('pending LMS writes janitor', () => {
  const database = `pending_prune_${uniqueSuffix()}_test`;
  let dataSource: DataSource;

  beforeAll(async () => {
    const flavor = await ensureDatabase(env.MYSQL_URL, database);
    dataSource = await new DataSource(
      dataSourceOptions({
        url: env.MYSQL_URL,
        database,
        flavor,
        entities: [],
        migrations: [
          ...MESSAGING_MIGRATIONS,
          LegacySync1763700000300,
          PendingWriteChangeTime1764000000300,
          Reconciliation1764100000300,
          PendingWritePruneIndex1764400000300,
        ],
      }),
    ).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(env.MYSQL_URL, database);
  });

  it('deletes only writes older than two days, reading the created_at index instead of the whole table', async () => {
    const row = (i: number, createdAt: Date) => [
      '00000000-0000-0000-0000-000000000001',
      'course-v1:It+Prune+2026',
      '7',
      i,
      'added',
      `event-${i}`,
      createdAt,
    ];
    const now = new Date();
    for (let i = 0; i < 5000; i += 1000) {
      await dataSource.query(
        'INSERT INTO pending_lms_write (group_id, course_key, legacy_id, user_id, action, source_event_id, created_at) VALUES ?',
        [Array.from({ length: 1000 }, (_, k) => row(i + k, now))],
      );
    }
    await dataSource.query(
      'INSERT INTO pending_lms_write (group_id, course_key, legacy_id, user_id, action, source_event_id, created_at) VALUES ?',
      [Array.from({ length: 20 }, (_, k) => row(10_000 + k, new Date(Date.now() - 3 * 86_400_000)))],
    );
    await dataSource.query('ANALYZE TABLE pending_lms_write');

    const statements: Array<{ sql: string; params: unknown[] }> = [];
    const query = dataSource.query.bind(dataSource);
    const spy = jest.spyOn(dataSource, 'query').mockImplementation((sql: string, params?: unknown[]) => {
      statements.push({ sql, params: params ?? [] });
      return query(sql, params);
    });
    const pruned = await new PendingWritesJanitor(dataSource).prune().finally(() => spy.mockRestore());
    expect(pruned).toBe(20);

    const prune = statements.find((s) => /^DELETE FROM pending_lms_write\b/.test(s.sql))!;
    const [plan] = await dataSource.query(`EXPLAIN ${prune.sql}`, prune.params);
    expect({ key: plan.key, type: plan.type }).toEqual({ key: 'ix_pending_created', type: 'range' });
    const [{ n }] = await dataSource.query('SELECT COUNT(*) AS n FROM pending_lms_write');
    expect(Number(n)).toBe(5000);
  });
});
