import { ConsumerGroup, deadLetterTopic, fullTopicName } from '@groups-sync/contracts';
import { createKafka, TopicReader } from '@groups-sync/messaging';
import { expectConsistently, expectEventually } from '@groups-sync/testing';
import { System } from './support/system';

describe('with the LMS down', () => {
  // A small retry budget (about a second of backoff), so that an outage longer than the budget
  // would dead-letter the change if an unavailable LMS spent it.
  const system = new System(10, { CONSUMER_MAX_ATTEMPTS: '3', CONSUMER_BACKOFF_MAX_MS: '1000' });

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 120_000);

  it('holds a membership change until the LMS is back, dead-letters nothing, and then applies it', async () => {
    const userId = await system.learner('hal');
    const groupId = await system.createCohortGroup('Outage LMS');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));
    // groups-service resolves hal once, while the LMS answers; the outage add uses what it learnt.
    const manual = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: 'course-v1:DemoX+Sync+2026',
      name: 'Warm-up',
      kind: 'manual',
    });
    await system.groups('POST', `/groups/${manual.body.id}/members`, { members: [{ username: 'hal' }] });
    await system.accessToken();

    await system.lmsEmulator.stop();
    const res = await system.groups('POST', `/groups/${groupId}/members`, {
      members: [{ user_id: userId, username: 'hal' }],
    });
    expect(res.body.results).toEqual([{ user_id: userId, username: 'hal', result: 'added' }]);
    const kafka = createKafka({ clientId: 'e2e-dlq', brokers: system.env.KAFKA_BROKERS.split(',') });
    const dlq = new TopicReader(kafka, [
      fullTopicName(deadLetterTopic(ConsumerGroup.LegacySyncUserGroups), system.prefix),
    ]);
    await dlq.start();
    try {
      // Several budgets' worth of outage.
      await expectConsistently(() => expect(dlq.messages).toEqual([]), { durationMs: 6000 });
      const [state] = await system.query(
        system.groupsDatabase,
        'SELECT sync_state FROM membership WHERE group_id = ? AND user_id = ?',
        [groupId, userId],
      );
      expect(state.sync_state).toBe('pending');

      await system.lmsEmulator.start();
      system.forgetToken();
      await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['hal']), {
        timeoutMs: 30_000,
        intervalMs: 500,
      });
      await expectEventually(async () => {
        const [after] = await system.query(
          system.groupsDatabase,
          'SELECT sync_state FROM membership WHERE group_id = ? AND user_id = ?',
          [groupId, userId],
        );
        expect(after.sync_state).toBe('synced');
      });
      expect(dlq.messages).toEqual([]);
    } finally {
      await dlq.stop();
    }
  }, 120_000);
});

describe('with the LMS down for longer than the outage budget', () => {
  const system = new System(14, {
    CONSUMER_MAX_ATTEMPTS: '3',
    CONSUMER_BACKOFF_MAX_MS: '500',
    CONSUMER_OUTAGE_BUDGET_SECONDS: '3',
  });
  const metric = async (name: string) => {
    const text = await (await fetch(`${system.legacySync.opsUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && l.includes(`group="${ConsumerGroup.LegacySyncUserGroups}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 120_000);

  it('dead-letters the stalled change with the reason after the budget, alerts through the metrics, and reconciliation sends it once the LMS is back', async () => {
    const userId = await system.learner('ida');
    const groupId = await system.createCohortGroup('Long outage');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));
    const manual = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: 'course-v1:DemoX+Sync+2026',
      name: 'Warm-up',
      kind: 'manual',
    });
    await system.groups('POST', `/groups/${manual.body.id}/members`, { members: [{ username: 'ida' }] });
    await system.accessToken();

    await system.lmsEmulator.stop();
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username: 'ida' }] });
    const kafka = createKafka({ clientId: 'e2e-dlq', brokers: system.env.KAFKA_BROKERS.split(',') });
    const dlq = new TopicReader(kafka, [
      fullTopicName(deadLetterTopic(ConsumerGroup.LegacySyncUserGroups), system.prefix),
    ]);
    await dlq.start();
    try {
      await expectEventually(async () => expect(await metric('consumer_stalled_seconds')).toBeGreaterThan(1), {
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      const [stall] = await system.query(
        system.legacySyncDatabase,
        'SELECT consumer_group, last_error FROM consumer_stall',
      );
      expect(stall.consumer_group).toBe(fullTopicName(ConsumerGroup.LegacySyncUserGroups, system.prefix));
      const letter = await expectEventually(
        () => dlq.messages.find((m) => m.headers.dlq_reason === 'OUTAGE_BUDGET_EXCEEDED')!.headers,
        { timeoutMs: 30_000 },
      );
      expect(letter.dlq_error_message).toMatch(/^dependency unavailable for 3 s: /);
      expect(letter.ce_type).toBe('org.openedx.learning.user_group.membership.changed.v1');
      expect(await metric('consumer_outage_dead_lettered_total')).toBe(1);
      await expectEventually(async () => expect(await metric('consumer_stalled_seconds')).toBe(0));
      expect(await system.query(system.legacySyncDatabase, 'SELECT * FROM consumer_stall')).toEqual([]);

      // The write never reached the LMS: reconciliation sends it once the LMS answers again.
      await system.lmsEmulator.start();
      system.forgetToken();
      await expectEventually(
        async () => {
          await system.reconcile({ course_key: 'course-v1:DemoX+Sync+2026' });
          expect(await system.cohortUsernames(cohortId)).toEqual(['ida']);
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
    } finally {
      await dlq.stop();
    }
  }, 180_000);
});
