import { DataSource, EntityManager } from 'typeorm';
import { EventConsumers, MessagingTables1763700000000 } from '@groups-sync/messaging';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { expectEventually, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { DynamicGroups1764200000400 } from '../migrations/1764200000400-dynamic-groups.migration';
import { GroupCadence1764300000200 } from '../migrations/1764300000200-group-cadence.migration';
import { DynamicGroupRow, RefreshRuns } from './refresh-runs';
import { RefreshScheduler } from './refresh-scheduler';

/**
 * Which groups a scheduler tick refreshes, on the evaluator's real schema: due by their cadence or
 * their own, never frozen, disabled, failing or claimed elsewhere ones, and each once across instances.
 */
const env = stackEnv();
const DB = `evaluator_scheduler_test_${uniqueSuffix()}`;
let dataSource: DataSource;

/** Stands in for the evaluation itself: records the group and stamps it evaluated, as a real run does. */
class RecordingRuns {
  readonly refreshed: string[] = [];
  async run(manager: EntityManager, group: DynamicGroupRow, trigger: string): Promise<void> {
    expect(trigger).toBe('scheduled');
    this.refreshed.push(group.group_id);
    await new Promise((r) => setTimeout(r, 20)); // a run takes time: another instance ticks meanwhile
    await manager.query('UPDATE dynamic_group SET last_evaluated_at = NOW(6) WHERE group_id = ?', [group.group_id]);
  }
}

async function group(
  id: string,
  columns: {
    cadence?: number | null;
    override?: number | null;
    lastMinutesAgo?: number | null;
    frozen?: boolean;
    enabled?: boolean;
    error?: string;
    claimedMinutesAgo?: number;
  },
) {
  await dataSource.query(
    `INSERT INTO dynamic_group (group_id, scope_type, scope_key, criteria, enabled, frozen, version, cadence_seconds, cadence_override_seconds, last_evaluated_at, last_error, claimed_at)
     VALUES (?, 'instance', '', '[]', ?, ?, 1, ?, ?, IF(? IS NULL, NULL, NOW(6) - INTERVAL ? MINUTE), ?, IF(? IS NULL, NULL, NOW(6) - INTERVAL ? MINUTE))`,
    [
      id,
      columns.enabled === false ? 0 : 1,
      columns.frozen ? 1 : 0,
      columns.cadence === undefined ? 3600 : columns.cadence,
      columns.override ?? null,
      columns.lastMinutesAgo ?? null,
      columns.lastMinutesAgo ?? null,
      columns.error ?? null,
      columns.claimedMinutesAgo ?? null,
      columns.claimedMinutesAgo ?? null,
    ],
  );
}

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

beforeAll(async () => {
  const flavor = await ensureDatabase(env.MYSQL_URL, DB);
  dataSource = await new DataSource(
    dataSourceOptions({
      url: env.MYSQL_URL,
      database: DB,
      flavor,
      entities: [],
      migrations: [MessagingTables1763700000000, DynamicGroups1764200000400, GroupCadence1764300000200],
    }),
  ).initialize();
}, 60_000);

afterAll(async () => {
  await dataSource?.destroy();
  await dropDatabase(env.MYSQL_URL, DB);
});

it("refreshes the groups due by their own cadence or their criteria's, skips frozen, disabled, failing and claimed ones, and each once across instances", async () => {
  await group(id(1), { cadence: 3600, lastMinutesAgo: 120 }); // due
  await group(id(2), { cadence: 3600, lastMinutesAgo: 10 }); // not yet
  await group(id(3), { cadence: 86_400, override: 60, lastMinutesAgo: 5 }); // due by its own cadence
  await group(id(4), { cadence: 60, override: 86_400, lastMinutesAgo: 5 }); // its own cadence is longer: not due
  await group(id(5), { frozen: true }); // never evaluated, but frozen
  await group(id(6), { enabled: false });
  await group(id(7), { error: 'no plugin for criterion type x' }); // waits for a change
  await group(id(8), { claimedMinutesAgo: 1 }); // another instance is on it
  await group(id(9), { claimedMinutesAgo: 30 }); // a claim left by a stopped instance expires
  await group(id(10), { lastMinutesAgo: null }); // never evaluated
  await group(id(11), { cadence: null }); // no cadence: only events and requests refresh it

  const one = new RecordingRuns();
  const other = new RecordingRuns();
  const [a, b] = await Promise.all([
    new RefreshScheduler(dataSource, one as unknown as RefreshRuns).tick(),
    new RefreshScheduler(dataSource, other as unknown as RefreshRuns).tick(),
  ]);
  const refreshed = [...one.refreshed, ...other.refreshed].sort();
  expect(refreshed).toEqual([id(1), id(3), id(9), id(10)]);
  expect(a + b).toBe(4);

  const again = new RecordingRuns();
  expect(await new RefreshScheduler(dataSource, again as unknown as RefreshRuns).tick()).toBe(0);
  const claims = await dataSource.query('SELECT group_id FROM dynamic_group WHERE claimed_at IS NOT NULL');
  expect(claims.map((r: { group_id: string }) => r.group_id)).toEqual([id(8)]);
}, 60_000);

it('refreshes every enabled group at once after LMS events were lost from a stream, whatever its cadence, and then goes back to cadences', async () => {
  await dataSource.query('DELETE FROM dynamic_group');
  await group(id(21), { cadence: 3600, lastMinutesAgo: 1 }); // fresh by its cadence
  await group(id(22), { cadence: null, lastMinutesAgo: 1 }); // no cadence at all
  await group(id(23), { frozen: true, lastMinutesAgo: 1 });
  await group(id(24), { enabled: false, lastMinutesAgo: 1 });
  await group(id(25), { error: 'no plugin for criterion type x', lastMinutesAgo: 1 });
  let onGap!: (gap: { stream: string }) => Promise<void>;
  const consumers = {
    onStreamGap: (listener: typeof onGap) => {
      onGap = listener;
    },
  } as unknown as EventConsumers;
  const runs = new RecordingRuns();
  const scheduler = new RefreshScheduler(dataSource, runs as unknown as RefreshRuns, consumers);
  scheduler.onModuleInit();
  expect(await scheduler.tick()).toBe(0);

  await onGap({ stream: 'dev-learning-course-enrollment-lifecycle' });
  await expectEventually(() => expect([...runs.refreshed].sort()).toEqual([id(21), id(22)]));
  // Once done, cadences rule again.
  expect(await scheduler.tick()).toBe(0);
}, 60_000);
