import { readFileSync } from 'node:fs';
import { expectEventually, http, PrivateMariadb } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

const GROUPS = 10;
const LEARNERS = 40;

/**
 * The database server restarted (a host reboot, a failover) while a reconciliation runs: every
 * process stays up, the run is given back to the queue and runs again once the database answers,
 * and the two sides converge. The services, the LMS emulator and this test share a MariaDB of their
 * own, stopped and started on the same port and data.
 */
describe('with the database restarted under a running reconciliation', () => {
  let db: PrivateMariadb;
  let system: System;

  beforeAll(async () => {
    db = await PrivateMariadb.start('restart');
    system = new System(130, {}, { mysqlUrl: await db.url() });
    await system.start();
  }, 240_000);
  afterAll(async () => {
    await db?.startServer().catch(() => undefined); // started again if a failure left it stopped
    await system?.stop();
    await db?.remove();
  }, 120_000);

  it('keeps every process up, runs the interrupted reconciliation again, and converges', async () => {
    // Drift no event announces: learners put in cohorts while the LMS drops every event.
    const groups: Array<{ groupId: string; cohortId: number; learners: string[] }> = [];
    for (let g = 0; g < GROUPS; g++) {
      const groupId = await system.createCohortGroup(`Restart ${g}`);
      groups.push({
        groupId,
        cohortId: await expectEventually(() => system.cohortIdOf(groupId)),
        learners: Array.from({ length: LEARNERS }, (_, i) => `restart_${g}_${String(i).padStart(2, '0')}`),
      });
    }
    await http('PUT', `${system.lmsEmulator.url}/emulator/faults`, { drop_events_share: 1 });
    const created = await http('POST', `${system.lmsEmulator.url}/emulator/users`, {
      users: groups.flatMap((g) => g.learners.map((username) => ({ username }))),
    });
    expect(created.status).toBe(201);
    for (const g of groups) {
      const added = await system.lms('POST', `/cohorts/${g.cohortId}/users/`, { users: g.learners });
      expect(added.status).toBe(200);
    }
    await http('DELETE', `${system.lmsEmulator.url}/emulator/faults`);
    expect(await system.activeUsernames(groups[0].groupId)).toEqual([]);

    // The run starts; the emulator is frozen inside its LMS reads while the database goes away.
    const queued = await system.sync('POST', '/reconciliations', { course_key: COURSE });
    expect(queued.status).toBe(202);
    const runOf = async () => (await system.sync('GET', `/reconciliations/${queued.body.id}`)).body;
    await expectEventually(async () => expect((await runOf()).status).toBe('running'), { intervalMs: 10 });
    system.lmsEmulator.pause();
    const before = await runOf();
    if (before.status !== 'running') throw new Error(`the run ended (${before.status}) before the database stopped`);
    await db.stop();
    system.lmsEmulator.resume();
    await new Promise((resolve) => setTimeout(resolve, 8_000)); // every service meets the outage
    await db.startServer();

    const run = await expectEventually(
      async () => {
        const r = await runOf();
        expect(r.status).toBe('succeeded');
        return r;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(run.error).toMatch(/^interrupted, queued again: /);
    for (const g of groups) {
      await expectEventually(async () => expect(await system.activeUsernames(g.groupId)).toEqual(g.learners));
    }
    for (const service of [system.groupsService, system.legacySync, system.lmsEmulator]) {
      expect({ service: service.app, running: service.running }).toEqual({ service: service.app, running: true });
      expect(readFileSync(service.logFile, 'utf8')).not.toMatch(/unhandled rejection/i);
      const ready = await fetch(`${service.opsUrl}/health/ready`);
      expect(ready.status).toBe(200);
    }
  }, 300_000);
});
