import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { DecodedEvent, EventType } from '@groups-sync/contracts';
import { startGroupsApp } from '../test/groups-app';
import { LegacyCommandsConsumer } from './legacy-commands.consumer';

const API = '/api/user-groups/v1';

/** Every transaction the data source ran that MariaDB ended as a deadlock victim or a lock-wait timeout (inTransaction retries them, so answers alone hide them). */
function countLockFailures(db: DataSource): string[] {
  const failures: string[] = [];
  const transaction = db.transaction.bind(db) as (...args: unknown[]) => Promise<unknown>;
  (db as { transaction: unknown }).transaction = async (...args: unknown[]) => {
    try {
      return await transaction(...args);
    } catch (error) {
      const code =
        (error as { code?: string; driverError?: { code?: string } }).code ??
        (error as { driverError?: { code?: string } }).driverError?.code;
      if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') failures.push(code);
      throw error;
    }
  };
  return failures;
}

function event<T extends EventType>(type: T, data: DecodedEvent<T>['data']): DecodedEvent<T> {
  return {
    type,
    data,
    key: null,
    metadata: {
      id: randomUUID(),
      type,
      source: 'legacy-sync-service',
      specVersion: '1.0',
      time: new Date().toISOString(),
      minorVersion: 0,
      sourcehost: 'it',
      sourcelib: 'it',
    },
  };
}

describe('legacy commands consumer: lock order', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let staffToken: string;
  let lockFailures: string[];

  beforeAll(async () => {
    ({ app, dataSource: db, stop, staffToken } = await startGroupsApp(3));
    lockFailures = countLockFailures(db);
  }, 90_000);
  afterAll(() => stop());

  const cohortGroup = async (course: string, cohortId: number) =>
    (
      await request(app.getHttpServer())
        .post(`${API}/groups`)
        .set('Authorization', `Bearer ${staffToken}`)
        .send({
          scope_type: 'course',
          scope_key: course,
          kind: 'legacy',
          name: `Cohort ${cohortId}`,
          criteria: [{ type: 'legacy_cohort', config: { cohort_id: cohortId } }],
        })
    ).body as { id: string };

  it('locks every group of a batch before any membership row, so batches naming the same groups in opposite orders never deadlock', async () => {
    // Two courses, so the groups are not each other's siblings: only the batch-wide lock orders them.
    const a = await cohortGroup('course-v1:LockX+A+2026', 71);
    const b = await cohortGroup('course-v1:LockX+B+2026', 72);
    const courseOf = new Map([
      [a.id, 'course-v1:LockX+A+2026'],
      [b.id, 'course-v1:LockX+B+2026'],
    ]);
    let at = Date.now();
    const observations = (groupId: string, users: number[]) =>
      users.map((userId) =>
        event(EventType.LegacyMembershipObserved, {
          observation: {
            group_id: groupId,
            course_key: courseOf.get(groupId)!,
            user_id: userId,
            username: `lock_${userId}`,
            action: 'added',
            observed_at: new Date(++at).toISOString(),
            source_event_id: randomUUID(),
            echo_of_change_at: null,
          },
        }),
      );
    const linkResult = (groupId: string, cohortId: number) =>
      event(EventType.LegacySyncCompleted, {
        sync_result: {
          group_id: groupId,
          user_id: null,
          status: 'synced',
          error: null,
          legacy_type: 'cohort',
          legacy_id: String(cohortId),
          occurred_at: new Date().toISOString(),
          change_occurred_at: null,
        },
      });
    // A sync result between the observations splits each batch into runs: one group per run, in
    // opposite orders in the two batches of a pair.
    const batch = (first: { id: string }, firstCohort: number, second: { id: string }, users: number[]) => [
      ...observations(first.id, users),
      linkResult(first.id, firstCohort),
      ...observations(second.id, users),
    ];
    const consumer = app.get(LegacyCommandsConsumer);
    lockFailures.length = 0;
    for (let round = 0; round < 10; round++) {
      const users = Array.from({ length: 40 }, (_, i) => 100_000 + round * 100 + i);
      await Promise.all([consumer.onBatch(batch(a, 71, b, users)), consumer.onBatch(batch(b, 72, a, users))]);
    }
    expect(lockFailures).toEqual([]);
    const [{ n }] = await db.query('SELECT COUNT(*) AS n FROM membership WHERE group_id IN (?) AND active = 1', [
      [a.id, b.id],
    ]);
    expect(Number(n)).toBe(2 * 400);
  });
});
