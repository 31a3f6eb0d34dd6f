import { DataSource } from 'typeorm';
import { EventType } from '@groups-sync/contracts';
import { MESSAGING_MIGRATIONS, OutboxWakeUp, OutboxWriter } from '@groups-sync/messaging';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { EvaluatorServiceConfig } from '../evaluator-service.config';
import { GroupEvaluator, Member } from '../evaluation/group-evaluator';
import { DynamicGroups1764200000400 } from '../migrations/1764200000400-dynamic-groups.migration';
import { GroupCadence1764300000200 } from '../migrations/1764300000200-group-cadence.migration';
import { RefreshRuns } from './refresh-runs';

/**
 * A full refresh as it lands in the evaluator's outbox, on its real schema: one pass over the
 * members, each chunk but the last committed as soon as it is full (count 0, known only at the end),
 * the last with the count in the caller's transaction, or no last chunk at all when the evaluation
 * fails halfway.
 */
const env = stackEnv();
const DB = `evaluator_refresh_runs_test_${uniqueSuffix()}`;
const GROUP = '00000000-0000-4000-8000-000000000001';
let dataSource: DataSource;

/** Stands in for the LMS: streams the members once (a second pass would be counted), failing after `failAfter` if asked. */
class StreamedMembers {
  passes = 0;
  constructor(
    readonly ids: number[],
    private readonly failAfter?: number,
  ) {}
  /** A replica in step with its primary: reads stand for now. */
  async readAt(): Promise<Date> {
    return new Date();
  }

  async *members(): AsyncGenerator<Member> {
    this.passes++;
    for (const [i, id] of this.ids.entries()) {
      if (i === this.failAfter) throw new Error('the LMS replica answered garbage');
      yield { id, username: `u${id}` };
    }
  }
}

const relay = { notify: jest.fn() };

function runs(members: StreamedMembers) {
  const config = Object.assign(new EvaluatorServiceConfig(), { EVALUATION_CHUNK_SIZE: 100 });
  // The writer wakes the relay for the rows committed on their own (the full chunks); the commit of the
  // caller's transaction, which this test opens itself, is not watched here.
  const writer = new OutboxWriter('evaluator-service', new OutboxWakeUp(() => relay.notify()));
  return new RefreshRuns(members as unknown as GroupEvaluator, writer, config, dataSource);
}

async function snapshots(runId: string) {
  const rows: Array<{ payload: string | object }> = await dataSource.query(
    'SELECT payload FROM outbox WHERE event_type = ? AND correlation_id = ? ORDER BY id',
    [EventType.EvaluationSnapshot, runId],
  );
  return rows.map((r) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload).snapshot);
}

beforeAll(async () => {
  const flavor = await ensureDatabase(env.MYSQL_URL, DB);
  dataSource = await new DataSource(
    dataSourceOptions({
      url: env.MYSQL_URL,
      database: DB,
      flavor,
      entities: [],
      migrations: [...MESSAGING_MIGRATIONS, DynamicGroups1764200000400, GroupCadence1764300000200],
    }),
  ).initialize();
  await dataSource.query(
    `INSERT INTO dynamic_group (group_id, scope_type, scope_key, criteria, enabled, frozen, version) VALUES (?, 'instance', '', '[]', 1, 0, 1)`,
    [GROUP],
  );
}, 60_000);

afterAll(async () => {
  await dataSource?.destroy();
  await dropDatabase(env.MYSQL_URL, DB);
});

const group = {
  group_id: GROUP,
  scope_type: 'instance' as const,
  scope_key: '',
  criteria: '[]',
  enabled: 1,
  version: 1,
};

it("reads the LMS once and sends the full chunks at once, the last with the run's chunk count at commit, the members in order", async () => {
  const ids = Array.from({ length: 250 }, (_, i) => 3 * i + 1);
  const members = new StreamedMembers(ids);
  relay.notify.mockClear();
  let beforeCommit: Array<{ chunk: number; chunks: number }> = [];
  const result = await dataSource.transaction(async (manager) => {
    const r = await runs(members).run(manager, group, 'user', 'staff');
    // What another connection (the relay) sees while the request's transaction is still open.
    beforeCommit = await snapshots((r as { runId: string }).runId);
    return r;
  });

  expect(result).toEqual({ runId: expect.any(String), members: 250 });
  expect(members.passes).toBe(1);
  expect(beforeCommit.map((s) => [s.chunk, s.chunks])).toEqual([
    [0, 0],
    [1, 0],
  ]);
  expect(relay.notify).toHaveBeenCalledTimes(2);
  const sent = await snapshots((result as { runId: string }).runId);
  expect(sent.map((s) => [s.chunk, s.chunks, s.members.length])).toEqual([
    [0, 0, 100],
    [1, 0, 100],
    [2, 3, 50],
  ]);
  expect(sent.flatMap((s) => s.members.map((m: { user_id: number }) => m.user_id))).toEqual(ids);
  // The relay bounds a send by the sizes recorded: they are the payloads' as finally written.
  const sizes = await dataSource.query(
    'SELECT payload_bytes, LENGTH(payload) AS actual FROM outbox WHERE correlation_id = ?',
    [(result as { runId: string }).runId],
  );
  expect(
    sizes.map((r: { payload_bytes: number; actual: number }) => Number(r.payload_bytes) - Number(r.actual)),
  ).toEqual([0, 0, 0]);
});

it('sends one empty chunk for a group nobody matches, and exactly full chunks with no empty one after them', async () => {
  const none = await dataSource.transaction((manager) =>
    runs(new StreamedMembers([])).run(manager, group, 'user', null),
  );
  expect(
    (await snapshots((none as { runId: string }).runId)).map((s) => [s.chunk, s.chunks, s.members.length]),
  ).toEqual([[0, 1, 0]]);

  const full = await dataSource.transaction((manager) =>
    runs(new StreamedMembers(Array.from({ length: 200 }, (_, i) => i + 1))).run(manager, group, 'user', null),
  );
  expect((await snapshots((full as { runId: string }).runId)).map((s) => [s.chunk, s.chunks])).toEqual([
    [0, 0],
    [1, 2],
  ]);
});

/** Snapshot chunks written since `after`, as [chunk, chunks]: a run's last chunk is the one with a count. */
async function chunksSince(after: number) {
  const rows: Array<{ payload: string | object }> = await dataSource.query(
    'SELECT payload FROM outbox WHERE event_type = ? AND id > ? ORDER BY id',
    [EventType.EvaluationSnapshot, after],
  );
  return rows
    .map((r) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload).snapshot)
    .map((s) => [s.chunk, s.chunks]);
}

const lastId = async () => Number((await dataSource.query('SELECT COALESCE(MAX(id), 0) AS id FROM outbox'))[0].id);

it('sends no last chunk of a run that fails halfway (groups-service never applies it), and records why', async () => {
  const before = await lastId();
  const result = await dataSource.transaction((manager) =>
    runs(
      new StreamedMembers(
        Array.from({ length: 250 }, (_, i) => i + 1),
        220,
      ),
    ).run(manager, group, 'user', null),
  );

  expect(result).toEqual({ error: 'the LMS replica answered garbage' });
  expect(await chunksSince(before)).toEqual([
    [0, 0],
    [1, 0],
  ]); // the two full chunks went; the last never does
  const [failed] = await dataSource.query('SELECT payload FROM outbox WHERE event_type = ? ORDER BY id DESC LIMIT 1', [
    EventType.EvaluationFailed,
  ]);
  expect((typeof failed.payload === 'string' ? JSON.parse(failed.payload) : failed.payload).failure.error).toBe(
    'the LMS replica answered garbage',
  );
});

it("drops a learner a plugin's join repeats, and fails a run whose ids go down, saying why, sending no last chunk", async () => {
  const repeated = await dataSource.transaction((manager) =>
    runs(new StreamedMembers([1, 2, 2, 3, 3, 3, 4])).run(manager, group, 'user', null),
  );
  expect(repeated).toEqual({ runId: expect.any(String), members: 4 });
  expect(
    (await snapshots((repeated as { runId: string }).runId)).flatMap((s) =>
      s.members.map((m: { user_id: number }) => m.user_id),
    ),
  ).toEqual([1, 2, 3, 4]);

  const before = await lastId();
  const unordered = await dataSource.transaction((manager) =>
    runs(new StreamedMembers([...Array.from({ length: 150 }, (_, i) => i + 10), 5])).run(manager, group, 'user', null),
  );
  expect(unordered).toEqual({
    error:
      "the criteria's members are not in ascending user id order (5 after 159): a plugin must stream ids ascending",
  });
  expect(await chunksSince(before)).toEqual([[0, 0]]);
});
