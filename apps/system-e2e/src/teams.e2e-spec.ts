import { expectConsistently, expectEventually, http } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

/**
 * Team-linked groups both ways, on real Kafka and MariaDB, against the emulator's teams v0 API:
 * adds and removals reach the team; the LMS's refusals revert the membership with its reason; team
 * changes made in the LMS reach the group through reconciliation (on demand and on the teams
 * schedule) and through the proposed team events; a whole teamset is mirrored read-only; deleting
 * a group deletes its team unless unlinked.
 */
describe('teams: groups that mirror a team, both ways', () => {
  // The teams schedule is off until the last test, so that each path is seen on its own.
  const system = new System(80, { RECONCILE_TEAMS_EVERY_SECONDS: '0', RECONCILE_PENDING_GRACE_SECONDS: '3' });
  const lmsDb = () => system.lmsDatabase;

  beforeAll(async () => {
    await system.start();
    const res = await http('POST', `${system.lmsEmulator.url}/emulator/courses`, {
      course_id: COURSE,
      teams_configuration: {
        max_team_size: 3,
        team_sets: [
          { id: 'projects', name: 'Projects', type: 'open' },
          { id: 'labs', name: 'Labs', type: 'open' },
        ],
      },
    });
    if (res.status >= 300) throw new Error(`course: ${res.status} ${JSON.stringify(res.body)}`);
  }, 180_000);
  afterAll(() => system.stop(), 60_000);

  const teamMembers = async (teamId: string) =>
    (
      await system.query(
        lmsDb(),
        'SELECT u.username FROM teams_courseteammembership m JOIN teams_courseteam t ON t.id = m.team_id JOIN auth_user u ON u.id = m.user_id WHERE t.team_id = ? ORDER BY u.username',
        [teamId],
      )
    ).map((r: { username: string }) => r.username);
  const teamGroup = async (name: string, config: Record<string, unknown>) => {
    const res = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name,
      kind: 'legacy',
      criteria: [{ type: 'legacy_team', config }],
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const linkedTeam = async (groupId: string) => {
    let teamId = '';
    await expectEventually(
      async () => {
        teamId = (await system.group(groupId)).legacy_link?.team_id;
        expect(teamId).toEqual(expect.any(String));
      },
      { timeoutMs: 10_000 },
    );
    return teamId;
  };
  const fixtureTeam = async (name: string, teamset: string) => {
    const res = await http('POST', `${system.lmsEmulator.url}/emulator/teams`, {
      course_id: COURSE,
      topic_id: teamset,
      name,
      description: `${name}, made in the LMS`,
    });
    if (res.status >= 300) throw new Error(`team: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  const joinInLms = async (teamId: string, username: string) => {
    const res = await http('POST', `${system.lmsEmulator.url}/emulator/team-memberships`, {
      team_id: teamId,
      username,
    });
    if (res.status >= 300) throw new Error(`join: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const leaveInLms = (teamId: string, username: string) =>
    http('DELETE', `${system.lmsEmulator.url}/emulator/team-memberships/${teamId},${username}`);
  const membership = async (groupId: string, username: string) =>
    (
      (await system.groups('GET', `/groups/${groupId}/members?status=all`)).body.results as Array<{
        username: string;
        active: boolean;
        sync_state: string;
        sync_error: string | null;
      }>
    ).find((m) => m.username === username);

  it('creates the team of a group made in a teamset; adds and removals through the API reach it', async () => {
    for (const name of ['tm_a', 'tm_b']) await system.learner(name);
    const groupId = await teamGroup('Red team', { teamset_id: 'projects' });
    const teamId = await linkedTeam(groupId);
    expect(
      (await system.query(lmsDb(), 'SELECT name, topic_id FROM teams_courseteam WHERE team_id = ?', [teamId]))[0],
    ).toEqual({ name: 'Red team', topic_id: 'projects' });

    expect(
      (
        await system.groups('POST', `/groups/${groupId}/members`, {
          members: [{ username: 'tm_a' }, { username: 'tm_b' }],
        })
      ).status,
    ).toBe(200);
    await expectEventually(async () => expect(await teamMembers(teamId)).toEqual(['tm_a', 'tm_b']), {
      timeoutMs: 10_000,
    });
    await expectEventually(async () => expect((await membership(groupId, 'tm_a'))?.sync_state).toBe('synced'), {
      timeoutMs: 10_000,
    });
    expect(
      (
        await system.groups(
          'DELETE',
          `/groups/${groupId}/members/${(await system.query(lmsDb(), 'SELECT id FROM auth_user WHERE username = ?', ['tm_b']))[0].id}`,
        )
      ).status,
    ).toBeLessThan(300);
    await expectEventually(async () => expect(await teamMembers(teamId)).toEqual(['tm_a']), { timeoutMs: 10_000 });
  });

  it('reverts each add the LMS refuses, with its reason: team full, already on a team of the teamset, not enrolled', async () => {
    for (const name of ['tf_1', 'tf_2', 'tf_3', 'tf_4', 'tf_other']) await system.learner(name);
    await http('POST', `${system.lmsEmulator.url}/emulator/users`, {
      username: 'tf_stranger',
      email: 'tf_stranger@example.com',
    }); // not enrolled
    const elsewhere = await fixtureTeam('Elsewhere', 'projects');
    await joinInLms(elsewhere, 'tf_other');
    const groupId = await teamGroup('Full team', { teamset_id: 'projects' });
    const teamId = await linkedTeam(groupId);
    // The LMS's own message, as a learner's admin reads it: not our request line ("LMS POST /api/team/...: 400 ...").
    const refused = async (username: string, reason: string) =>
      expectEventually(
        async () =>
          expect(await membership(groupId, username)).toMatchObject({
            active: false,
            sync_state: 'rejected',
            sync_error: expect.stringMatching(new RegExp(`^(?!LMS ).*${reason}`)),
          }),
        { timeoutMs: 10_000 },
      );
    // The LMS checks the team's size first: the other refusals are seen while it has room.
    await system.groups('POST', `/groups/${groupId}/members`, {
      members: [{ username: 'tf_other' }, { username: 'tf_stranger' }],
    });
    await refused('tf_other', 'already');
    await refused('tf_stranger', 'not enrolled');
    for (const name of ['tf_1', 'tf_2', 'tf_3'])
      await system.groups('POST', `/groups/${groupId}/members`, { members: [{ username: name }] });
    await expectEventually(async () => expect(await teamMembers(teamId)).toEqual(['tf_1', 'tf_2', 'tf_3']), {
      timeoutMs: 10_000,
    });
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ username: 'tf_4' }] });
    await refused('tf_4', 'already full');
    expect(await teamMembers(teamId)).toEqual(['tf_1', 'tf_2', 'tf_3']);
  });

  it('links an existing team (importing its members) and brings an LMS change into the group through reconciliation', async () => {
    for (const name of ['te_1', 'te_2', 'te_3']) await system.learner(name);
    const teamId = await fixtureTeam('Blue team', 'projects');
    await joinInLms(teamId, 'te_1');
    const groupId = await teamGroup('Blue', { team_id: teamId });
    await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual(['te_1']), {
      timeoutMs: 20_000,
    });
    // The LMS emits no team event: nothing arrives until a reconciliation reads the team.
    await joinInLms(teamId, 'te_2');
    await leaveInLms(teamId, 'te_1');
    await expectConsistently(async () => expect(await system.activeUsernames(groupId)).toEqual(['te_1']), {
      durationMs: 1500,
    });
    const run = await system.reconcile({ group_id: groupId });
    expect(run.report.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ username: 'te_2', kind: 'missing_in_group', outcome: 'repaired' }),
        expect.objectContaining({ username: 'te_1', kind: 'removed_in_lms', outcome: 'repaired' }),
      ]),
    );
    await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual(['te_2']), {
      timeoutMs: 10_000,
    });
  });

  // No reconciliation runs in these stacks (RECONCILE_EVERY_MINUTES=0): only the events can move the
  // group. How fast is a figure (printed here), not an assertion on a busy machine.
  it('follows the proposed team events where the LMS emits them, without reconciliation', async () => {
    for (const name of ['tv_1', 'tv_2']) await system.learner(name);
    const teamId = await fixtureTeam('Green team', 'projects');
    const groupId = await teamGroup('Green', { team_id: teamId });
    await expectEventually(async () => expect((await system.group(groupId)).legacy_link?.team_id).toBe(teamId), {
      timeoutMs: 10_000,
    });
    await http('PUT', `${system.lmsEmulator.url}/emulator/settings`, { emit_team_events: true });
    try {
      let t = Date.now();
      await joinInLms(teamId, 'tv_1');
      await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual(['tv_1']), {
        timeoutMs: 10_000,
        intervalMs: 25,
      });
      const joined = Date.now() - t;
      t = Date.now();
      await leaveInLms(teamId, 'tv_1');
      await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual([]), {
        timeoutMs: 10_000,
        intervalMs: 25,
      });
      console.log(`team event to group: join ${joined} ms, leave ${Date.now() - t} ms`);
      // Our own add comes back as an event too: the membership stays as it is.
      await system.groups('POST', `/groups/${groupId}/members`, { members: [{ username: 'tv_2' }] });
      await expectEventually(
        async () => expect(await membership(groupId, 'tv_2')).toMatchObject({ active: true, sync_state: 'synced' }),
        { timeoutMs: 10_000 },
      );
      expect(await teamMembers(teamId)).toEqual(['tv_2']);
    } finally {
      await http('PUT', `${system.lmsEmulator.url}/emulator/settings`, { emit_team_events: false });
    }
  });

  it('mirrors a whole teamset read-only: the union of its teams', async () => {
    for (const name of ['tl_1', 'tl_2', 'tl_3']) await system.learner(name);
    const [one, two] = [await fixtureTeam('Lab one', 'labs'), await fixtureTeam('Lab two', 'labs')];
    await joinInLms(one, 'tl_1');
    await joinInLms(two, 'tl_2');
    const groupId = await teamGroup('All labs', { teamset_id: 'labs', whole_teamset: true });
    await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual(['tl_1', 'tl_2']), {
      timeoutMs: 20_000,
    });
    const write = await system.groups('POST', `/groups/${groupId}/members`, { members: [{ username: 'tl_3' }] });
    expect(write.status).toBe(409);
    expect(write.body.code).toBe('MEMBERS_READ_ONLY');
  });

  it('deletes the team with its group, and keeps it when the group is deleted with unlink=true', async () => {
    const deleted = await teamGroup('Doomed', { teamset_id: 'projects' });
    const doomedTeam = await linkedTeam(deleted);
    const kept = await teamGroup('Kept', { teamset_id: 'projects' });
    const keptTeam = await linkedTeam(kept);
    // Kept first: both events share the course's partition, so once the second has deleted its team the first has been handled.
    expect((await system.groups('DELETE', `/groups/${kept}?unlink=true`)).status).toBe(204);
    expect((await system.groups('DELETE', `/groups/${deleted}`)).status).toBe(204);
    await expectEventually(
      async () =>
        expect(
          await system.query(lmsDb(), 'SELECT team_id FROM teams_courseteam WHERE team_id = ?', [doomedTeam]),
        ).toEqual([]),
      { timeoutMs: 10_000 },
    );
    expect(
      await system.query(lmsDb(), 'SELECT team_id FROM teams_courseteam WHERE team_id = ?', [keptTeam]),
    ).toHaveLength(1);
  });

  it('reconciles team-linked groups on their own short schedule', async () => {
    await system.learner('ts_1');
    const teamId = await fixtureTeam('Scheduled team', 'projects');
    const groupId = await teamGroup('Scheduled', { team_id: teamId });
    await expectEventually(async () => expect((await system.group(groupId)).legacy_link?.team_id).toBe(teamId), {
      timeoutMs: 10_000,
    });
    await system.legacySync.stop();
    system.legacySync.env.RECONCILE_TEAMS_EVERY_SECONDS = '2';
    await system.legacySync.start();
    const t = Date.now();
    await joinInLms(teamId, 'ts_1');
    await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual(['ts_1']), {
      timeoutMs: 15_000,
    });
    console.log(`team change to group through the schedule: ${Date.now() - t} ms`);
  });
});
