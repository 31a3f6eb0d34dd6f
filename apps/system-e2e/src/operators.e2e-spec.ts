import { ConsumerGroup } from '@groups-sync/contracts';
import { expectConsistently, expectEventually, http } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

/** The operators' command line (`npm run --silent ugsync -- ...`) against the services as processes. */
describe('ugsync: dead letters, replay, pause and status', () => {
  const system = new System(30, { CONSUMER_MAX_ATTEMPTS: '2', CONSUMER_BACKOFF_MAX_MS: '200' });
  const group = ConsumerGroup.LegacySyncUserGroups;

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 60_000);
  afterEach(() => http('DELETE', `${system.lmsEmulator.url}/emulator/faults`));

  const ugsync = async (...args: string[]) => {
    const res = await system.ugsync([...args, '--json']);
    if (res.code !== 0) throw new Error(`ugsync ${args.join(' ')}: exit ${res.code}: ${res.stderr}`);
    return JSON.parse(res.stdout);
  };
  const linkedGroup = async (name: string) => {
    const groupId = await system.createCohortGroup(name);
    return { groupId, cohortId: await expectEventually(() => system.cohortIdOf(groupId)) };
  };
  /** An add the LMS keeps refusing with a 500 until it is dead-lettered; answers the dead letter. */
  const deadLetteredAdd = async (groupId: string, username: string) => {
    const userId = await system.learner(username);
    await system.lmsFaults({ fail_adds_for: [username] });
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username }] });
    let letter: any;
    await expectEventually(
      async () => {
        const listed = await ugsync('dlq', 'list', '--consumer-group', group, '--state', 'open');
        letter = listed.results.find((l: { ce_id: string; state: string }) => l.ce_id && l.state === 'open');
        expect(letter).toBeDefined();
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    await http('DELETE', `${system.lmsEmulator.url}/emulator/faults`); // the defect is fixed
    return { userId, letter };
  };

  it('lists, shows and replays a dead letter once its cause is fixed: applied exactly once, and the replay recorded with its caller', async () => {
    const { groupId, cohortId } = await linkedGroup('Replayed');
    const { letter } = await deadLetteredAdd(groupId, 'replay1');
    expect(letter).toMatchObject({
      consumer_group: group,
      reason: 'RETRY_BUDGET_EXCEEDED',
      event_type: 'org.openedx.learning.user_group.membership.changed.v1',
      state: 'open',
    });

    const shown = await ugsync('dlq', 'show', letter.id);
    expect(shown.event.data.membership).toMatchObject({ group_id: groupId, username: 'replay1', action: 'added' });
    expect(shown.error).toContain('500');

    const dry = await ugsync('dlq', 'replay', '--consumer-group', group, '--dry-run');
    expect(dry).toMatchObject({ dry_run: true, count: 1 });
    await expectConsistently(async () => expect(await system.cohortUsernames(cohortId)).toEqual([]), {
      durationMs: 1500,
    });

    const replayed = await ugsync('dlq', 'replay', '--consumer-group', group);
    expect(replayed).toMatchObject({ dry_run: false, count: 1 });
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['replay1']), {
      timeoutMs: 20_000,
    });
    await expectEventually(async () =>
      expect((await system.group(groupId)).members).toEqual([
        expect.objectContaining({ username: 'replay1', sync_state: 'synced' }),
      ]),
    );

    // Recorded: who replayed it, and it is no longer open.
    const after = await ugsync('dlq', 'list', '--consumer-group', group, '--state', 'all');
    const same = after.results.find((l: { id: string }) => l.id === letter.id);
    expect(same.state).toBe('replayed');
    expect(same.actions).toEqual([
      expect.objectContaining({ action: 'replayed', actor: 'groups_sync_worker', outcome: 'sent to the retry topic' }),
    ]);
    // Nothing open is left to replay; a forced second replay of the same ce_id applies nothing twice.
    expect(await ugsync('dlq', 'replay', '--consumer-group', group)).toMatchObject({ count: 0 });
    expect(await ugsync('dlq', 'replay', '--consumer-group', group, '--state', 'all')).toMatchObject({ count: 1 });
    await expectConsistently(
      async () => {
        const inbox = await system.query(
          system.legacySyncDatabase,
          'SELECT COUNT(*) AS n FROM inbox WHERE event_id = ?',
          [letter.ce_id],
        );
        expect(Number(inbox[0].n)).toBe(1);
        const writes = await system.query(
          system.legacySyncDatabase,
          `SELECT COUNT(*) AS n FROM pending_lms_write WHERE source_event_id = ?`,
          [letter.ce_id],
        );
        expect(Number(writes[0].n)).toBe(1);
      },
      { durationMs: 3000, intervalMs: 500 },
    );
  });

  it('never lets a replayed old change undo a newer one', async () => {
    const { groupId, cohortId } = await linkedGroup('Old replay');
    const { userId, letter } = await deadLetteredAdd(groupId, 'replay2');
    // A newer change: the learner is removed again through the API (and that reaches the LMS).
    await system.groups('POST', `/groups/${groupId}/members/remove`, { members: [{ user_id: userId }] });
    await expectEventually(async () =>
      expect((await system.groups('GET', `/groups/${groupId}/members?status=all`)).body.results).toEqual([
        expect.objectContaining({ username: 'replay2', active: false, sync_state: 'synced' }),
      ]),
    );

    await ugsync('dlq', 'replay', '--consumer-group', group);
    await expectEventually(
      async () => {
        const inbox = await system.query(
          system.legacySyncDatabase,
          'SELECT COUNT(*) AS n FROM inbox WHERE event_id = ?',
          [letter.ce_id],
        );
        expect(Number(inbox[0].n)).toBe(1); // consumed and recorded...
      },
      { timeoutMs: 20_000 },
    );
    await expectConsistently(async () => expect(await system.cohortUsernames(cohortId)).toEqual([]), {
      durationMs: 2000,
    }); // ...but not sent
  });

  it('resolves dead letters without replaying them, recording who did', async () => {
    const { groupId } = await linkedGroup('Resolved');
    const { letter } = await deadLetteredAdd(groupId, 'resolve1');
    const resolved = await ugsync('dlq', 'resolve', '--consumer-group', group, '--note', 'handled by hand');
    expect(resolved.count).toBeGreaterThanOrEqual(1);
    const listed = await ugsync('dlq', 'list', '--consumer-group', group, '--state', 'resolved');
    expect(listed.results.find((l: { id: string }) => l.id === letter.id).actions).toEqual([
      expect.objectContaining({ action: 'resolved', outcome: 'handled by hand' }),
    ]);
  });

  it('pauses writes to the LMS for a course while changes queue, shows it in status, and sends them on resume', async () => {
    const { groupId, cohortId } = await linkedGroup('Paused');
    const userId = await system.learner('paused1');
    expect(await ugsync('pause', '--course', COURSE)).toMatchObject({ paused: COURSE });
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username: 'paused1' }] });
    await expectConsistently(async () => expect(await system.cohortUsernames(cohortId)).toEqual([]), {
      durationMs: 3000,
      intervalMs: 500,
    });

    const status = await ugsync('status');
    expect(status.lms_writes).toMatchObject({
      paused: true,
      pauses: [expect.objectContaining({ course_key: COURSE, paused_by: 'groups_sync_worker' })],
    });
    expect(Object.keys(status.consumer_lag)).toEqual(expect.arrayContaining(Object.values(ConsumerGroup)));
    expect(status.dead_letters[group]).toBeDefined();
    expect(status.outbox['legacy-sync-service'].backlog).toEqual(expect.any(Number));
    expect(status.outbox['groups-service'].backlog).toEqual(expect.any(Number));
    const metrics = await (await fetch(`${system.legacySync.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`^lms_writes_paused\\{course_key="${COURSE.replace(/[+]/g, '\\+')}"[^}]*\\} 1$`, 'm'),
    );

    expect(await ugsync('resume', '--course', COURSE)).toMatchObject({ lifted: 1, pauses: [] });
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['paused1']), {
      timeoutMs: 40_000,
      intervalMs: 500,
    });
  });

  it('answers a clear error for bad input, and refuses a caller that is not an operator', async () => {
    const bad = await system.ugsync(['reconcile', '--course', 'not a course key', '--json']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not a course key');
    expect((await system.ugsync(['frobnicate'])).code).toBe(2);
    const learnerToken = (await http('POST', `${system.lmsEmulator.url}/emulator/tokens`, { username: 'paused1' })).body
      .access_token;
    const refused = await system.ugsync(['status', '--token', learnerToken]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('403');
  });
});
