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
    const manual = await system.groups('POST', '/groups', { scope_type: 'course', scope_key: 'course-v1:DemoX+Sync+2026', name: 'Warm-up', kind: 'manual' });
    await system.groups('POST', `/groups/${manual.body.id}/members`, { members: [{ username: 'hal' }] });
    await system.accessToken();

    await system.lmsEmulator.stop();
    const res = await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username: 'hal' }] });
    expect(res.body.results).toEqual([{ user_id: userId, username: 'hal', result: 'added' }]);
    const kafka = createKafka({ clientId: 'e2e-dlq', brokers: system.env.KAFKA_BROKERS.split(',') });
    const dlq = new TopicReader(kafka, [fullTopicName(deadLetterTopic(ConsumerGroup.LegacySyncUserGroups), system.prefix)]);
    await dlq.start();
    try {
      // Several budgets' worth of outage.
      await expectConsistently(() => expect(dlq.messages).toEqual([]), { durationMs: 6000 });
      const [state] = await system.query(system.groupsDatabase, 'SELECT sync_state FROM membership WHERE group_id = ? AND user_id = ?', [groupId, userId]);
      expect(state.sync_state).toBe('pending');

      await system.lmsEmulator.start();
      system.forgetToken();
      await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['hal']), { timeoutMs: 30_000, intervalMs: 500 });
      await expectEventually(async () => {
        const [after] = await system.query(system.groupsDatabase, 'SELECT sync_state FROM membership WHERE group_id = ? AND user_id = ?', [groupId, userId]);
        expect(after.sync_state).toBe('synced');
      });
      expect(dlq.messages).toEqual([]);
    } finally {
      await dlq.stop();
    }
  }, 120_000);
});
