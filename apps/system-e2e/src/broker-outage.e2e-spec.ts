import { EventType } from '@groups-sync/contracts';
import { expectEventually, PrivateKafka } from '@groups-sync/testing';
import { System } from './support/system';

/**
 * The broker stopped and started again under the services. A broker of this suite's own (the
 * other suites share the one scripts/infra.sh started), with the Kafka jars that script resolved.
 */
describe('with the broker stopped', () => {
  let kafka: PrivateKafka;
  let system: System;

  beforeAll(async () => {
    kafka = await PrivateKafka.start('outage');
    system = new System(5, {}, { kafkaBrokers: kafka.brokers });
    await system.start();
  }, 180_000);
  afterAll(async () => {
    await kafka?.startServer().catch(() => undefined); // started again if a failure left it stopped
    await system?.stop();
    await kafka?.remove();
  }, 120_000);

  it('commits a member added through the API with its outbox row, and delivers it once the broker is back', async () => {
    const userId = await system.learner('gus');
    const groupId = await system.createCohortGroup('Outage');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));

    const unsent = async () =>
      Number(
        (await system.query(system.groupsDatabase, `SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL`))[0].n,
      );
    await expectEventually(async () => expect(await unsent()).toBe(0));

    await kafka.stop();
    const res = await system.groups('POST', `/groups/${groupId}/members`, {
      members: [{ user_id: userId, username: 'gus' }],
    });
    expect(res.status).toBe(200);
    expect(await system.activeUsernames(groupId)).toEqual(['gus']);
    const [pending] = await system.query(system.groupsDatabase, `SELECT event_type FROM outbox WHERE sent_at IS NULL`);
    expect(pending).toEqual({ event_type: EventType.UserGroupMembershipChanged });
    expect(await unsent()).toBe(1);

    await kafka.startServer();
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['gus']), {
      timeoutMs: 150_000, // a producer stuck on the restarted broker is reset after SEND_DEADLINE_MS
      intervalMs: 500,
    });
    expect(await unsent()).toBe(0);
  }, 240_000);
});
