import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DecodedEvent, EventType, newEventMetadata, UserGroupData } from '@groups-sync/contracts';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { EVALUATOR_MIGRATIONS } from '../migrations';
import { GroupEventsConsumer } from './group-events.consumer';
import { RefreshRuns } from './refresh-runs';

/** groups-service's lifecycle events as the evaluator keeps them, on its real schema. */
const env = stackEnv();
const DB = `evaluator_group_events_test_${uniqueSuffix()}`;
let dataSource: DataSource;
let consumer: GroupEventsConsumer;
const refreshes = { run: jest.fn() };

beforeAll(async () => {
  const flavor = await ensureDatabase(env.MYSQL_URL, DB);
  dataSource = await new DataSource(
    dataSourceOptions({
      url: env.MYSQL_URL,
      database: DB,
      flavor,
      entities: [],
      migrations: EVALUATOR_MIGRATIONS,
    }),
  ).initialize();
  consumer = new GroupEventsConsumer(
    dataSource,
    refreshes as unknown as RefreshRuns,
    { get: () => undefined } as unknown as CriteriaRegistry,
  );
}, 60_000);

afterAll(async () => {
  await dataSource?.destroy();
  await dropDatabase(env.MYSQL_URL, DB);
});

/** A lifecycle event with a fresh `ce_id`: what a dead letter replayed after its inbox row was pruned looks like. */
function lifecycle(
  type: EventType.UserGroupCreated | EventType.UserGroupUpdated | EventType.UserGroupDeleted,
  id: string,
  version: number,
): DecodedEvent {
  const data: UserGroupData = {
    user_group: {
      id,
      scope_type: 'instance',
      scope_key: '',
      name: 'Dynamic',
      description: '',
      kind: 'dynamic',
      enabled: true,
      version,
      criteria: [],
      changed_by: 'staff',
      occurred_at: new Date().toISOString(),
      evaluate_now: false,
    },
  };
  return { type, data, metadata: newEventMetadata(type, 'groups-service'), key: id };
}

const rows = (id: string) => dataSource.query('SELECT group_id, version FROM dynamic_group WHERE group_id = ?', [id]);

it('keeps a deleted group deleted when its created or updated event is delivered again later', async () => {
  const id = randomUUID();
  await consumer.onBatch([lifecycle(EventType.UserGroupCreated, id, 1), lifecycle(EventType.UserGroupUpdated, id, 2)]);
  expect(await rows(id)).toEqual([{ group_id: id, version: 2 }]);
  await consumer.onBatch([lifecycle(EventType.UserGroupDeleted, id, 3)]);
  expect(await rows(id)).toEqual([]);

  await consumer.onBatch([lifecycle(EventType.UserGroupCreated, id, 1)]);
  await consumer.onBatch([lifecycle(EventType.UserGroupUpdated, id, 2)]);

  expect(await rows(id)).toEqual([]);
  expect(refreshes.run).not.toHaveBeenCalled();
});

it('keeps a group deleted before its created event arrived (out of order) deleted', async () => {
  const id = randomUUID();
  await consumer.onBatch([lifecycle(EventType.UserGroupDeleted, id, 2)]);
  await consumer.onBatch([lifecycle(EventType.UserGroupCreated, id, 1)]);
  expect(await rows(id)).toEqual([]);
});
