import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EventType } from '@groups-sync/contracts';
import { expectEventually, WORKSPACE_ROOT } from '@groups-sync/testing';
import { System } from './support/system';

// The broker is the one scripts/infra.sh started (npm test), or testcontainers' on a Docker machine.
const container = process.env.GROUPS_SYNC_KAFKA_CONTAINER;

/**
 * Not execFileSync: a test process blocked for the seconds a broker takes to stop cannot see the
 * API's idle keep-alive sockets close, and its next request then goes out on a closed one.
 */
async function infra(command: 'kafka-stop' | 'kafka-start'): Promise<void> {
  const { stdout } = container
    ? await promisify(execFile)('docker', [command === 'kafka-stop' ? 'stop' : 'start', container])
    : await promisify(execFile)('bash', [join(WORKSPACE_ROOT, 'scripts/infra.sh'), command]);
  process.stdout.write(stdout);
}

describe('with the broker stopped', () => {
  const system = new System(5);

  beforeAll(async () => {
    if (!container && !existsSync(join(WORKSPACE_ROOT, '.cache/run/kafka.pid'))) {
      throw new Error(
        'this test stops and restarts the broker, so it needs the one scripts/infra.sh started (npm test does)',
      );
    }
    await system.start();
  }, 180_000);
  afterAll(async () => {
    await infra('kafka-start');
    await system.stop();
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

    await infra('kafka-stop');
    const res = await system.groups('POST', `/groups/${groupId}/members`, {
      members: [{ user_id: userId, username: 'gus' }],
    });
    expect(res.status).toBe(200);
    expect(await system.activeUsernames(groupId)).toEqual(['gus']);
    const [pending] = await system.query(system.groupsDatabase, `SELECT event_type FROM outbox WHERE sent_at IS NULL`);
    expect(pending).toEqual({ event_type: EventType.UserGroupMembershipChanged });
    expect(await unsent()).toBe(1);

    await infra('kafka-start');
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['gus']), {
      timeoutMs: 150_000, // a producer stuck on the restarted broker is reset after SEND_DEADLINE_MS
      intervalMs: 500,
    });
    expect(await unsent()).toBe(0);
  }, 240_000);
});
