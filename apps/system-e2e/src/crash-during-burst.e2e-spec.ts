import { expectEventually } from '@groups-sync/testing';
import { System } from './support/system';

describe('a burst of LMS events with the services killed during it', () => {
  const system = new System(15);

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 120_000);

  it('applies each of 5,000 LMS changes once, after kill -9 of legacy-sync-service and then of groups-service', async () => {
    const groupId = await system.createCohortGroup('Burst');
    await expectEventually(() => system.cohortIdOf(groupId));
    const users = Array.from({ length: 5000 }, (_, i) => ({ id: 3_000_000 + i, username: `burst_${i}` }));
    const members = async () =>
      Number(
        (
          await system.query(
            system.groupsDatabase,
            'SELECT COUNT(*) AS n FROM membership WHERE group_id = ? AND active = 1',
            [groupId],
          )
        )[0].n,
      );

    const forwarded = async () =>
      Number(
        (
          await system.query(
            system.legacySyncDatabase,
            `SELECT COUNT(*) AS n FROM inbox WHERE event_type LIKE '%cohort_membership%'`,
          )
        )[0].n,
      );

    await system.produce(await system.cohortEvents('Burst', users));
    // Mid-stream: each service crashes once some of the burst has gone through it, and comes back.
    await expectEventually(async () => expect(await forwarded()).toBeGreaterThan(0), {
      timeoutMs: 30_000,
      intervalMs: 10,
    });
    await system.legacySync.kill();
    const atFirstCrash = await forwarded();
    expect(atFirstCrash).toBeLessThan(5000);
    // groups-service dies while it still has what legacy-sync forwarded to apply, and legacy-sync
    // comes back (taking its stream or partitions over) while groups-service is down.
    await system.groupsService.kill();
    const atSecondCrash = await members();
    expect(atSecondCrash).toBeLessThan(5000);
    await system.legacySync.start();
    await expectEventually(async () => expect(await forwarded()).toBeGreaterThan(atFirstCrash), {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    await system.groupsService.start();

    await expectEventually(async () => expect(await members()).toBe(5000), { timeoutMs: 120_000, intervalMs: 500 });
    // Once each: one audit row and one membership event per learner, whatever was redelivered.
    const [audit] = await system.query(
      system.groupsDatabase,
      `SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS users FROM audit_event WHERE group_id = ? AND action = 'member_added'`,
      [groupId],
    );
    expect({ n: Number(audit.n), users: Number(audit.users) }).toEqual({ n: 5000, users: 5000 });
    const [events] = await system.query(
      system.groupsDatabase,
      `SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = ? AND event_type LIKE '%membership.changed%'`,
      [groupId],
    );
    expect(Number(events.n)).toBe(5000);
    process.stdout.write(
      `crash-during-burst (LMS events on ${process.env.E2E_LMS_EVENT_BUS ?? 'kafka'}): kill -9 of legacy-sync after ${atFirstCrash} of 5,000 forwarded, ` +
        `of groups-service at ${atSecondCrash} applied; in the end ${await members()} members, ${audit.n} member_added audit rows ` +
        `(${audit.users} learners), ${events.n} membership events: 0 lost, 0 duplicated\n`,
    );
  }, 300_000);
});
