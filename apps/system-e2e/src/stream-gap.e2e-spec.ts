import Redis from 'ioredis';
import { ConsumerGroup, fullTopicName, Topic } from '@groups-sync/contracts';
import { expectEventually } from '@groups-sync/testing';
import { System } from './support/system';

// Only on Redis streams: event-bus-redis trims each stream near 10,000 entries, so a reader that is
// down long enough finds entries gone it never read.
process.env.E2E_LMS_EVENT_BUS = 'redis';

describe('LMS events trimmed from a Redis stream before they were read', () => {
  const system = new System(100, { RECONCILE_EVERY_MINUTES: '0' });
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(system.env.EVENT_BUS_REDIS_CONNECTION_URL);
    await system.start();
  }, 180_000);
  afterAll(async () => {
    redis.disconnect();
    await system.stop();
  }, 120_000);

  it('are reported (status, metric) and a reconciliation brings the change in anyway', async () => {
    const userId = await system.learner('gia');
    const groupId = await system.createCohortGroup('Section Gap');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));
    const stream = fullTopicName(Topic.LmsCohortMembership, system.prefix);

    // legacy-sync is down while the LMS puts gia in the cohort, and the stream is trimmed past her event.
    await system.legacySync.stop();
    await system.lms('POST', `/cohorts/${cohortId}/users/`, { users: ['gia'] });
    await expectEventually(async () => expect(await redis.xlen(stream)).toBeGreaterThan(0));
    await redis.xtrim(stream, 'MAXLEN', 0);
    await system.legacySync.start();

    // The event never arrives; the gap's reconciliation finds her in the cohort.
    await expectEventually(
      async () =>
        expect((await system.group(groupId)).members).toEqual([
          expect.objectContaining({ user_id: userId, username: 'gia', origin: 'reconciliation' }),
        ]),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const runs = await system.query(
      system.legacySyncDatabase,
      `SELECT scope_type, trigger_kind, status FROM reconciliation_run WHERE trigger_kind = 'stream_gap'`,
    );
    expect(runs).toEqual([{ scope_type: 'all', trigger_kind: 'stream_gap', status: 'succeeded' }]);

    const status = (await system.sync('GET', '/status')).body;
    expect(status.lms_streams.gaps).toEqual([
      expect.objectContaining({ group: ConsumerGroup.LegacySyncLmsEvents, stream, reason: 'trimmed', lost: 1 }),
    ]);
    const metrics = await (await fetch(`${system.legacySync.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `stream_gaps_total\\{group="${ConsumerGroup.LegacySyncLmsEvents}",stream="${stream}",reason="trimmed"[^}]*\\} 1`,
      ),
    );
    // Its readers report on /health/consumers, beside the Kafka consumers.
    const health = await fetch(`${system.legacySync.opsUrl}/health/consumers`);
    expect(health.status).toBe(200);
    expect(JSON.stringify(await health.json())).toContain(`"${stream}":{"reading":true}`);
    const cli = await system.ugsync(['status']);
    expect(cli.stdout).toContain('LMS events lost to stream trimming');
    expect(cli.stdout).toContain(stream);
  }, 120_000);
});
