import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  ConfluentSchemaRegistry,
  ConsumerGroup,
  deadLetterTopic,
  EvaluationFailedData,
  EvaluationSnapshotData,
  EvaluationUserResultData,
  EventCodec,
  EventType,
  fullTopicName,
  newEventMetadata,
  UserGroupMembershipChangedData,
} from '@groups-sync/contracts';
import { createKafka, DeadLetterHeader, MessageProducer, TopicReader, unpackEvents } from '@groups-sync/messaging';
import { expectConsistently, expectEventually, stackEnv } from '@groups-sync/testing';
import { GroupsServiceConfig } from '../groups-service.config';
import { GroupsApp, startGroupsApp } from '../test/groups-app';
import { UserRetirementService } from '../retirement/user-retirement.service';
import { EvaluationRuns } from './evaluation-runs.service';
import { EvaluationChunksJanitor } from './evaluation-chunks.janitor';

const API = '/api/user-groups/v1';
const COURSE = 'course-v1:TestX+Eval+2026';

describe('evaluation snapshots from Kafka, applied to dynamic groups', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let staffToken: string;
  let prefix: string;
  let producer: MessageProducer;
  let codec: EventCodec;
  const kafka = createKafka({ clientId: 'it-evaluator', brokers: stackEnv().KAFKA_BROKERS.split(',') });
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  let n = 0;
  const dynamicGroup = async () =>
    (
      await api()
        .post(`${API}/groups`)
        .send({
          scope_type: 'course',
          scope_key: COURSE,
          kind: 'dynamic',
          name: `Dynamic ${++n}`,
          criteria: [{ type: 'is_staff', value: false }],
        })
    ).body as { id: string };

  beforeAll(async () => {
    ({ app, dataSource: db, stop, staffToken, topicPrefix: prefix } = (await startGroupsApp(7)) as GroupsApp);
    producer = new MessageProducer(kafka);
    codec = new EventCodec(new ConfluentSchemaRegistry(stackEnv().SCHEMA_REGISTRY_URL), prefix);
  }, 90_000);
  afterAll(async () => {
    await producer.disconnect();
    await stop();
  });

  const users = (...ids: number[]) => ids.map((id) => ({ user_id: id, username: `u${id}` }));
  async function send(snapshot: Partial<EvaluationSnapshotData['snapshot']> & { group_id: string }) {
    const data = {
      snapshot: {
        run_id: randomUUID(),
        chunk: 0,
        chunks: 1,
        members: [],
        trigger: 'scheduled',
        requested_by: null,
        evaluated_at: new Date().toISOString(),
        ...snapshot,
      },
    } as EvaluationSnapshotData;
    const metadata = newEventMetadata(EventType.EvaluationSnapshot, 'evaluator-service');
    await producer.send([await codec.encode(EventType.EvaluationSnapshot, data, metadata)]);
    return { ...data.snapshot, event_id: metadata.id };
  }
  /** Runs `test` with these settings of the running service, then puts the old ones back. */
  async function withConfig(settings: Partial<GroupsServiceConfig>, test: () => Promise<void>) {
    const config = app.get(GroupsServiceConfig);
    const before = Object.fromEntries(Object.keys(settings).map((k) => [k, config[k as keyof GroupsServiceConfig]]));
    Object.assign(config, settings);
    try {
      await test();
    } finally {
      Object.assign(config, before);
    }
  }
  const staged = async (runId: string) =>
    Number((await db.query('SELECT COUNT(*) AS n FROM evaluation_chunk WHERE run_id = ?', [runId]))[0].n);
  /** The message each join's event names as its cause, by user. */
  const causes = async (groupId: string) => {
    const rows = await db.query(
      'SELECT causation_id, payload FROM outbox WHERE aggregate_id = ? AND event_type = ? ORDER BY id',
      [groupId, EventType.UserGroupMembershipChanged],
    );
    const byUser = new Map<number, string>();
    for (const r of rows) {
      const payload = typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload;
      const events = (payload.first ? unpackEvents(payload) : [payload]) as UserGroupMembershipChangedData[];
      for (const e of events) if (e.membership.action === 'added') byUser.set(e.membership.user_id, r.causation_id);
    }
    return byUser;
  };
  const active = async (groupId: string) =>
    (
      await db.query('SELECT user_id FROM membership WHERE group_id = ? AND active = 1 ORDER BY user_id', [groupId])
    ).map((r: { user_id: string }) => Number(r.user_id));
  /** Audit rows, with details parsed (MariaDB's JSON is text on the wire). */
  const audit = async (groupId: string, action: string) =>
    (
      await db.query(
        'SELECT actor, `trigger`, details FROM audit_event WHERE group_id = ? AND action = ? ORDER BY id',
        [groupId, action],
      )
    ).map((r: { details: unknown }) => ({
      ...r,
      details: typeof r.details === 'string' ? JSON.parse(r.details) : r.details,
    }));
  const outbox = async (groupId: string, type: EventType) =>
    Number(
      (
        await db.query(
          'SELECT COALESCE(SUM(event_count), 0) AS n FROM outbox WHERE aggregate_id = ? AND event_type = ?',
          [groupId, type],
        )
      )[0].n,
    );

  it('applies a run only when all its chunks are in, then publishes refresh completed', async () => {
    const g = await dynamicGroup();
    const run = randomUUID();
    const at = new Date().toISOString();
    await send({
      group_id: g.id,
      run_id: run,
      chunk: 1,
      chunks: 2,
      members: users(3, 4),
      evaluated_at: at,
      trigger: 'user',
      requested_by: 'staff',
    });
    await expectConsistently(async () => expect(await active(g.id)).toEqual([]), { durationMs: 1500 });
    // Sent before the evaluator knew the count (0): the last chunk, staged already, says it.
    await send({
      group_id: g.id,
      run_id: run,
      chunk: 0,
      chunks: 0,
      members: users(1, 2),
      evaluated_at: at,
      trigger: 'user',
      requested_by: 'staff',
    });
    await expectEventually(async () => expect(await active(g.id)).toEqual([1, 2, 3, 4]));

    const [done] = await audit(g.id, 'refresh_completed');
    expect(done).toMatchObject({
      actor: 'staff',
      trigger: 'user',
      details: expect.objectContaining({ run_id: run, added: 4, removed: 0, member_count: 4 }),
    });
    expect(await outbox(g.id, EventType.UserGroupRefreshCompleted)).toBe(1);
    // Each chunk's joins share one packed outbox row (OUTBOX_PACK_EVENTS).
    const rows = await db.query('SELECT event_count FROM outbox WHERE aggregate_id = ? AND event_type = ?', [
      g.id,
      EventType.UserGroupMembershipChanged,
    ]);
    expect(rows.map((r: { event_count: number }) => Number(r.event_count))).toEqual([2, 2]);
    const origins = await db.query('SELECT DISTINCT origin FROM membership WHERE group_id = ?', [g.id]);
    expect(origins).toEqual([{ origin: 'criteria' }]);
    const view = (await api().get(`${API}/groups/${g.id}`)).body;
    expect([view.last_refreshed_at, view.is_stale]).toEqual([at, false]);
    expect(Number((await db.query('SELECT COUNT(*) AS n FROM evaluation_chunk WHERE run_id = ?', [run]))[0].n)).toBe(0);
  });

  it("applies a run's chunks as they arrive, in one transaction its last chunk commits: nothing shows before, readers are not held", async () => {
    const g = await dynamicGroup();
    await send({ group_id: g.id, members: users(1, 5, 7) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([1, 5, 7]));
    const run = randomUUID();
    const at = new Date().toISOString();
    const first = await send({
      group_id: g.id,
      run_id: run,
      chunk: 0,
      chunks: 0,
      members: users(2, 3),
      evaluated_at: at,
    });
    const second = await send({
      group_id: g.id,
      run_id: run,
      chunk: 1,
      chunks: 0,
      members: users(4, 6),
      evaluated_at: at,
    });
    // Both applied in the run's open transaction (its next chunk is 2): 1 and 5 have left there, 2, 3, 4 and 6 joined.
    await expectEventually(async () => expect(await staged(run)).toBe(2));
    await expectEventually(() => expect(app.get(EvaluationRuns).openRun()?.groupId).toBe(g.id));
    await expectConsistently(
      async () => {
        expect(await active(g.id)).toEqual([1, 5, 7]);
        expect(
          (await api().get(`${API}/groups/${g.id}/members`)).body.results.map((m: { user_id: number }) => m.user_id),
        ).toEqual([1, 5, 7]);
      },
      { durationMs: 1000 },
    );
    const last = await send({ group_id: g.id, run_id: run, chunk: 2, chunks: 3, members: users(9), evaluated_at: at });
    await expectEventually(async () => expect(await active(g.id)).toEqual([2, 3, 4, 6, 9]));
    expect((await audit(g.id, 'refresh_completed'))[1].details).toMatchObject({
      run_id: run,
      added: 5,
      removed: 3,
      member_count: 5,
    });
    // Each join names the chunk that carried it: applied as it came, not when the run was complete.
    const cause = await causes(g.id);
    expect([2, 3, 4, 6, 9].map((u) => cause.get(u))).toEqual([
      first.event_id,
      first.event_id,
      second.event_id,
      second.event_id,
      last.event_id,
    ]);
    expect(await staged(run)).toBe(0);
    expect(app.get(EvaluationRuns).openRun()).toBeNull();
  });

  it('closes an open run whose next chunk does not come, releasing the group, and applies it from its staged chunks when its last one does', async () => {
    await withConfig({ EVALUATION_OPEN_RUN_IDLE_MS: 500 }, async () => {
      const g = await dynamicGroup();
      const run = randomUUID();
      const at = new Date().toISOString();
      await send({ group_id: g.id, run_id: run, chunk: 0, chunks: 0, members: users(1, 2), evaluated_at: at });
      await expectEventually(async () => expect(await staged(run)).toBe(1));
      await expectEventually(() => expect(app.get(EvaluationRuns).openRun()).toBeNull());
      // The group's row is free again: a writer does not wait for a stopped evaluator.
      await db.transaction(async (m) =>
        expect(await m.query('SELECT id FROM user_group WHERE id = ? FOR UPDATE NOWAIT', [g.id])).toHaveLength(1),
      );
      expect(await active(g.id)).toEqual([]);
      const last = await send({
        group_id: g.id,
        run_id: run,
        chunk: 1,
        chunks: 2,
        members: users(3),
        evaluated_at: at,
      });
      await expectEventually(async () => expect(await active(g.id)).toEqual([1, 2, 3]));
      // Applied the staged way: every join names the last chunk.
      expect([...(await causes(g.id)).values()]).toEqual([last.event_id, last.event_id, last.event_id]);
    });
  });

  it('closes a run open longer than the maximum, though its chunks keep coming, and applies it from its staged chunks', async () => {
    await withConfig({ EVALUATION_OPEN_RUN_MAX_MS: 1000 }, async () => {
      const g = await dynamicGroup();
      const run = randomUUID();
      const at = new Date().toISOString();
      for (let k = 0; k < 4; k++) {
        await send({ group_id: g.id, run_id: run, chunk: k, chunks: 0, members: users(10 * k + 1), evaluated_at: at });
        await new Promise((r) => setTimeout(r, 400));
      }
      await expectEventually(async () => expect(await staged(run)).toBe(4));
      expect(app.get(EvaluationRuns).openRun()).toBeNull();
      const last = await send({
        group_id: g.id,
        run_id: run,
        chunk: 4,
        chunks: 5,
        members: users(41),
        evaluated_at: at,
      });
      await expectEventually(async () => expect(await active(g.id)).toEqual([1, 11, 21, 31, 41]));
      expect(new Set((await causes(g.id)).values())).toEqual(new Set([last.event_id]));
    });
  });

  it("closes an open run for a user result of its group, which applies at once instead of waiting for the run's locks", async () => {
    const g = await dynamicGroup();
    const run = randomUUID();
    const at = new Date().toISOString();
    await send({ group_id: g.id, run_id: run, chunk: 0, chunks: 0, members: users(1, 2), evaluated_at: at });
    await expectEventually(() => expect(app.get(EvaluationRuns).openRun()?.groupId).toBe(g.id));
    const result: EvaluationUserResultData = {
      result: {
        group_id: g.id,
        user_id: 40,
        username: 'u40',
        member: true,
        evaluated_at: new Date(Date.now() + 1000).toISOString(),
      },
    };
    await producer.send([
      await codec.encode(
        EventType.EvaluationUserResult,
        result,
        newEventMetadata(EventType.EvaluationUserResult, 'evaluator-service'),
      ),
    ]);
    // Well within the run's idle time (10 s) and the database's lock wait (50 s).
    await expectEventually(async () => expect(await active(g.id)).toEqual([40]), { timeoutMs: 5000 });
    expect(app.get(EvaluationRuns).openRun()).toBeNull();
    await send({ group_id: g.id, run_id: run, chunk: 1, chunks: 2, members: users(3), evaluated_at: at });
    await expectEventually(async () => expect(await audit(g.id, 'refresh_completed')).toHaveLength(1));
    // The run is older than the user's result, which a full refresh overrides (as with a staged run).
    expect(await active(g.id)).toEqual([1, 2, 3]);
  });

  it("closes an open run for a failure message of its group, and on the service's stop, releasing the group each time", async () => {
    const runs = app.get(EvaluationRuns);
    const g = await dynamicGroup();
    const open = async () => {
      await send({ group_id: g.id, run_id: randomUUID(), chunk: 0, chunks: 0, members: users(1) });
      await expectEventually(() => expect(runs.openRun()?.groupId).toBe(g.id));
    };
    await open();
    const failure: EvaluationFailedData = {
      failure: {
        group_id: g.id,
        run_id: randomUUID(),
        error: 'replica gone',
        trigger: 'scheduled',
        requested_by: null,
        failed_at: new Date().toISOString(),
      },
    };
    await producer.send([
      await codec.encode(
        EventType.EvaluationFailed,
        failure,
        newEventMetadata(EventType.EvaluationFailed, 'evaluator-service'),
      ),
    ]);
    // Recorded well within the run's idle time (5 s): it did not wait for the run's lock.
    await expectEventually(
      async () => expect((await api().get(`${API}/groups/${g.id}`)).body.evaluation_error?.error).toBe('replica gone'),
      { timeoutMs: 3000 },
    );
    expect(runs.openRun()).toBeNull();

    await open();
    await runs.onApplicationShutdown();
    expect(runs.openRun()).toBeNull();
    await db.transaction(async (m) =>
      expect(await m.query('SELECT id FROM user_group WHERE id = ? FOR UPDATE NOWAIT', [g.id])).toHaveLength(1),
    );
  });

  it('closes the open run when a user is retired, rather than have retirement wait for it: the run applies without them, and never names them', async () => {
    const g = await dynamicGroup();
    const run = randomUUID();
    const at = new Date().toISOString();
    await send({ group_id: g.id, run_id: run, chunk: 0, chunks: 0, members: users(71, 72), evaluated_at: at });
    // Chunk 0 applied in the open run: 71's membership is there, uncommitted.
    await expectEventually(() => expect(app.get(EvaluationRuns).openRun()).toMatchObject({ groupId: g.id, next: 1 }));
    const started = Date.now();
    await app
      .get(UserRetirementService)
      .retire(71, 'u71', { actor: 'retirement_service_worker', trigger: 'user', origin: 'retirement', at: new Date() });
    // Not held until the run's idle time (5 s) closed it.
    expect(Date.now() - started).toBeLessThan(2500);
    expect(app.get(EvaluationRuns).openRun()).toBeNull();
    await send({ group_id: g.id, run_id: run, chunk: 1, chunks: 2, members: users(73), evaluated_at: at });
    await expectEventually(async () => expect(await audit(g.id, 'refresh_completed')).toHaveLength(1));
    expect(await active(g.id)).toEqual([72, 73]);
    expect([...(await causes(g.id)).keys()]).toEqual([72, 73]);
    expect(
      Number(
        (
          await db.query('SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = ? AND payload LIKE ?', [
            g.id,
            '%"u71"%',
          ])
        )[0].n,
      ),
    ).toBe(0);
  });

  it("reads a group id sent in upper case as the group's own (ids are compared byte for byte, in lower case)", async () => {
    const g = await dynamicGroup();
    await send({ group_id: g.id.toUpperCase(), members: users(5, 6) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([5, 6]));
  });

  it('applies only the difference; an unchanged result changes no membership', async () => {
    const g = await dynamicGroup();
    await send({ group_id: g.id, members: users(1, 2, 3) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([1, 2, 3]));
    await send({ group_id: g.id, members: users(2, 3, 5) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([2, 3, 5]));
    expect(
      (await audit(g.id, 'refresh_completed')).map((a: { details: { added: number; removed: number } }) => [
        a.details.added,
        a.details.removed,
      ]),
    ).toEqual([
      [3, 0],
      [1, 1],
    ]);
    const membershipEvents = await outbox(g.id, EventType.UserGroupMembershipChanged);
    expect(membershipEvents).toBe(5);

    await send({ group_id: g.id, members: users(2, 3, 5) });
    await expectEventually(async () => expect(await audit(g.id, 'refresh_completed')).toHaveLength(3));
    expect(await outbox(g.id, EventType.UserGroupMembershipChanged)).toBe(membershipEvents);

    // A former member comes back: their row is reactivated (one row per user and group), not duplicated.
    await send({ group_id: g.id, members: users(1, 2, 3, 5) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([1, 2, 3, 5]));
    const rows = await db.query(
      'SELECT user_id, COUNT(*) AS n FROM membership WHERE group_id = ? GROUP BY user_id ORDER BY user_id',
      [g.id],
    );
    expect(rows.map((r: { user_id: string; n: string }) => [Number(r.user_id), Number(r.n)])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [5, 1],
    ]);
    expect(await outbox(g.id, EventType.UserGroupMembershipChanged)).toBe(membershipEvents + 1);
  });

  it('applies a run range by range: each chunk decides the members up to its last id, the last chunk every id above', async () => {
    const g = await dynamicGroup();
    await send({ group_id: g.id, members: users(1, 2, 3, 4, 5, 6, 8, 9, 10) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10]));
    // Members below the first chunk, between chunks, inside them and above the last one leave.
    const run = randomUUID();
    const at = new Date().toISOString();
    await send({ group_id: g.id, run_id: run, chunk: 0, chunks: 3, members: users(2, 4), evaluated_at: at });
    await send({ group_id: g.id, run_id: run, chunk: 1, chunks: 3, members: [], evaluated_at: at });
    await send({ group_id: g.id, run_id: run, chunk: 2, chunks: 3, members: users(7, 9), evaluated_at: at });
    await expectEventually(async () => expect(await audit(g.id, 'refresh_completed')).toHaveLength(2));
    expect(await active(g.id)).toEqual([2, 4, 7, 9]);
    expect((await audit(g.id, 'refresh_completed'))[1].details).toMatchObject({
      added: 1,
      removed: 6,
      member_count: 4,
    });

    // An empty last chunk decides every id above the chunk before it.
    const last = randomUUID();
    await send({
      group_id: g.id,
      run_id: last,
      chunk: 0,
      chunks: 2,
      members: users(2, 4),
      evaluated_at: new Date().toISOString(),
    });
    await send({
      group_id: g.id,
      run_id: last,
      chunk: 1,
      chunks: 2,
      members: [],
      evaluated_at: new Date().toISOString(),
    });
    await expectEventually(async () => expect(await active(g.id)).toEqual([2, 4]));
  });

  it('discards a run whose chunks are not in ascending user order, changing nothing; dead-letters a chunk that is not', async () => {
    const g = await dynamicGroup();
    await send({ group_id: g.id, members: users(1, 5) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([1, 5]));
    const run = randomUUID();
    const at = new Date().toISOString();
    await send({ group_id: g.id, run_id: run, chunk: 0, chunks: 2, members: users(2, 6), evaluated_at: at });
    await send({ group_id: g.id, run_id: run, chunk: 1, chunks: 2, members: users(3), evaluated_at: at });
    await expectEventually(async () =>
      expect((await audit(g.id, 'refresh_discarded'))[0]?.details.reason).toBe(
        "the run's chunks are not in ascending user id order (chunk 1 starts at or below 6)",
      ),
    );
    expect(await active(g.id)).toEqual([1, 5]);
    expect(await audit(g.id, 'member_added')).toHaveLength(2);

    // Chunks that disagree on the run's chunk count leave one out: discarded, not applied as empty.
    const disagreeing = randomUUID();
    await send({
      group_id: g.id,
      run_id: disagreeing,
      chunk: 2,
      chunks: 3,
      members: users(9),
      evaluated_at: new Date().toISOString(),
    });
    await send({
      group_id: g.id,
      run_id: disagreeing,
      chunk: 1,
      chunks: 2,
      members: users(7),
      evaluated_at: new Date().toISOString(),
    });
    await expectEventually(async () =>
      expect((await audit(g.id, 'refresh_discarded'))[1]?.details.reason).toBe(
        "chunk 0 of 2 is missing (the run's chunks disagree on their count)",
      ),
    );
    expect(await active(g.id)).toEqual([1, 5]);

    const dlq = new TopicReader(kafka, [
      fullTopicName(deadLetterTopic(ConsumerGroup.GroupsEvaluationCommands), prefix),
    ]);
    await dlq.start();
    try {
      await send({ group_id: g.id, members: users(6, 2) });
      await expectEventually(() =>
        expect(dlq.messages.map((m) => m.headers[DeadLetterHeader.ErrorMessage])).toContain(
          'members must be in ascending user_id order, each once (a run is applied range by range)',
        ),
      );
      expect(await active(g.id)).toEqual([1, 5]);
    } finally {
      await dlq.stop();
    }
  });

  it('discards a run older than the one applied, and runs for frozen or manual groups, saying why', async () => {
    const g = await dynamicGroup();
    await send({ group_id: g.id, members: users(1) });
    await expectEventually(async () => expect(await active(g.id)).toEqual([1]));
    await send({ group_id: g.id, members: users(9), evaluated_at: new Date(Date.now() - 3_600_000).toISOString() });
    await expectEventually(async () =>
      expect((await audit(g.id, 'refresh_discarded'))[0]?.details.reason).toBe(
        'a newer evaluation was applied already',
      ),
    );
    expect(await active(g.id)).toEqual([1]);

    const manual = (
      await api()
        .post(`${API}/groups`)
        .send({ scope_type: 'course', scope_key: COURSE, kind: 'manual', name: `Manual ${++n}` })
    ).body;
    await send({ group_id: manual.id, members: users(1) });
    await expectEventually(async () =>
      expect((await audit(manual.id, 'refresh_discarded'))[0]?.details.reason).toBe('the group is manual, not dynamic'),
    );
    expect(await active(manual.id)).toEqual([]);

    const frozen = await dynamicGroup();
    const etag = (await api().get(`${API}/groups/${frozen.id}`)).headers.etag;
    expect((await api().patch(`${API}/groups/${frozen.id}`).set('If-Match', etag).send({ frozen: true })).status).toBe(
      200,
    );
    await send({ group_id: frozen.id, members: users(1) });
    await expectEventually(async () =>
      expect((await audit(frozen.id, 'refresh_discarded'))[0]?.details.reason).toBe('the group is frozen'),
    );
    expect(await active(frozen.id)).toEqual([]);
  });

  it('prunes the chunks of a run that never finished, a day after they came', async () => {
    const g = await dynamicGroup();
    const run = (await send({ group_id: g.id, chunk: 0, chunks: 3, members: users(1) })).run_id;
    const chunks = async () =>
      Number((await db.query('SELECT COUNT(*) AS n FROM evaluation_chunk WHERE run_id = ?', [run]))[0].n);
    await expectEventually(async () => expect(await chunks()).toBe(1));
    const janitor = app.get(EvaluationChunksJanitor);
    await janitor.prune();
    expect(await chunks()).toBe(1);
    await db.query('UPDATE evaluation_chunk SET received_at = NOW(6) - INTERVAL 25 HOUR WHERE run_id = ?', [run]);
    expect(await janitor.prune()).toBeGreaterThanOrEqual(1);
    expect(await chunks()).toBe(0);
  });

  it('dead-letters a malformed snapshot with the reason and goes on with the next', async () => {
    const g = await dynamicGroup();
    const dlq = new TopicReader(kafka, [
      fullTopicName(deadLetterTopic(ConsumerGroup.GroupsEvaluationCommands), prefix),
    ]);
    await dlq.start();
    try {
      await send({ group_id: g.id, chunk: 3, chunks: 2, members: users(1) });
      await send({ group_id: g.id, members: users(7) });
      await expectEventually(async () => expect(await active(g.id)).toEqual([7]));
      await expectEventually(() =>
        expect(
          dlq.messages.map((m) => [m.headers[DeadLetterHeader.Reason], m.headers[DeadLetterHeader.ErrorMessage]]),
        ).toContainEqual(['INVALID_DATA', 'chunk 3 is outside 0..1']),
      );
      expect(
        dlq.messages.filter((m) => m.headers[DeadLetterHeader.ErrorMessage] === 'chunk 3 is outside 0..1'),
      ).toHaveLength(1);
    } finally {
      await dlq.stop();
    }
  });
});
