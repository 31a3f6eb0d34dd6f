import { DataSource } from 'typeorm';
import { EventType } from '@groups-sync/contracts';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { MESSAGING_MIGRATIONS } from './messaging-tables.migration';
import { OutboxMessage } from './outbox-message.entity';
import { OutboxWakeUp } from './outbox-wake-up';
import { OutboxWriter } from './outbox.writer';

const env = stackEnv();

const linkChanged = (n: number) => ({
  legacy_link: {
    group_id: 'g-1',
    legacy_type: 'cohort' as const,
    legacy_id: String(n),
    course_key: 'course-v1:T+T+T',
    occurred_at: '2026-11-22T00:00:00+00:00',
  },
});

describe('OutboxWriter waking the relay', () => {
  const dbName = `outbox_wake_${uniqueSuffix().replace(/-/g, '_')}_test`;
  let dataSource: DataSource;
  let notified: number;
  let writer: OutboxWriter;

  beforeAll(async () => {
    const flavor = await ensureDatabase(env.MYSQL_URL, dbName);
    dataSource = await new DataSource(
      dataSourceOptions({
        url: env.MYSQL_URL,
        database: dbName,
        flavor,
        entities: [OutboxMessage],
        migrations: MESSAGING_MIGRATIONS,
      }),
    ).initialize();
    writer = new OutboxWriter('it', new OutboxWakeUp(() => void notified++).watch(dataSource));
  });

  beforeEach(() => {
    notified = 0;
  });

  afterAll(async () => {
    await dataSource.destroy();
    await dropDatabase(env.MYSQL_URL, dbName);
  });

  it('wakes it once the transaction that wrote the rows commits, not before', async () => {
    await dataSource.transaction(async (manager) => {
      await writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged(1));
      // A savepoint released inside the transaction is not its commit.
      await manager.transaction((inner) => writer.append(inner, EventType.UserGroupLegacyLinkChanged, linkChanged(2)));
      expect(notified).toBe(0);
    });
    expect(notified).toBe(1);
  });

  it('does not wake it when the transaction rolls back', async () => {
    await expect(
      dataSource.transaction(async (manager) => {
        await writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged(3));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await dataSource.transaction(async (manager) => {
      await manager.query('SELECT 1');
    });
    expect(notified).toBe(0);
  });

  it('wakes it at once for rows written outside a transaction (their statement committed them)', async () => {
    await writer.append(dataSource.manager, EventType.UserGroupLegacyLinkChanged, linkChanged(4));
    expect(notified).toBe(1);
  });
});
