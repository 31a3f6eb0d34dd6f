import { http, expectEventually, ServiceProcess, testPort } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

/**
 * What the events miss, repaired by one reconciliation run each, on real Kafka and MariaDB with
 * the services as processes. Each case makes one kind of drift on purpose (the LMS emulator's
 * faults, or changes the LMS never announces) and reads the run's report.
 */
describe('reconciliation: the two sides converge whatever the events miss', () => {
  // Two attempts, then a failing LMS write is dead-lettered.
  const system = new System(20, { CONSUMER_MAX_ATTEMPTS: '2', CONSUMER_BACKOFF_MAX_MS: '200' });

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 60_000);
  afterEach(() => http('DELETE', `${system.lmsEmulator.url}/emulator/faults`));

  const linkedGroup = async (name: string) => {
    const groupId = await system.createCohortGroup(name);
    return { groupId, cohortId: await expectEventually(() => system.cohortIdOf(groupId)) };
  };
  const members = async (groupId: string) => await system.activeUsernames(groupId);
  const addThroughApi = async (groupId: string, userId: number, username: string) => {
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username }] });
    await expectEventually(async () =>
      expect(
        (await system.group(groupId)).members.find((m: { username: string }) => m.username === username),
      ).toMatchObject({ sync_state: 'synced' }),
    );
    // "synced" can come from the LMS's own event, which edx-platform (and the emulator) sends before
    // its transaction commits: a test that changes the cohort next waits for the commit too (a busy
    // machine once deleted the learner before it, and the LMS answered 400 "not in the cohort").
    const cohortId = await system.cohortIdOf(groupId);
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toContain(username));
  };
  const link = async (groupId: string) =>
    (
      await system.query(
        system.legacySyncDatabase,
        'SELECT state, legacy_id, last_error FROM legacy_link WHERE group_id = ?',
        [groupId],
      )
    )[0];
  const differencesOf = (run: { report: { differences: Array<Record<string, unknown>> } }, groupId: string) =>
    run.report.differences.filter((d) => d.group_id === groupId);

  it('removes a phantom: a learner the LMS announced in a cohort but never committed', async () => {
    const { groupId, cohortId } = await linkedGroup('Phantom');
    await system.learner('phantom1');
    await system.lmsFaults({ rollback_after_emit_for: ['phantom1'] });
    const add = await system.lms('POST', `/cohorts/${cohortId}/users/`, { users: ['phantom1'] });
    expect(add.status).toBe(500);
    await expectEventually(async () => expect(await members(groupId)).toEqual(['phantom1'])); // the event made them a member
    expect(await system.cohortUsernames(cohortId)).toEqual([]);

    const run = await system.reconcile({ course_key: COURSE });
    expect(run.status).toBe('succeeded');
    expect(differencesOf(run, groupId)).toEqual([
      expect.objectContaining({
        username: 'phantom1',
        side: 'group_only',
        kind: 'removed_in_lms',
        action: 'remove_from_group',
        outcome: 'repaired',
      }),
    ]);
    await expectEventually(async () => expect(await members(groupId)).toEqual([]));
    expect((await system.group(groupId)).members).toEqual([]);
  });

  it('removes from the group a learner removed from the cohort in the LMS (no event exists for removals)', async () => {
    const { groupId, cohortId } = await linkedGroup('Removed in LMS');
    const userId = await system.learner('leaver1');
    await addThroughApi(groupId, userId, 'leaver1');
    expect((await system.lms('DELETE', `/cohorts/${cohortId}/users/leaver1`)).status).toBe(204);

    const run = await system.reconcile({ group_id: groupId });
    expect(differencesOf(run, groupId)).toEqual([
      expect.objectContaining({ username: 'leaver1', kind: 'removed_in_lms', outcome: 'repaired' }),
    ]);
    await expectEventually(async () => expect(await members(groupId)).toEqual([]));
    const [row] = await system.query(
      system.groupsDatabase,
      'SELECT origin, sync_state FROM membership WHERE group_id = ? AND user_id = ?',
      [groupId, userId],
    );
    expect(row).toEqual({ origin: 'reconciliation', sync_state: 'synced' });
  });

  it('follows a move in the LMS into a cohort no group mirrors', async () => {
    const { groupId } = await linkedGroup('Mirrored');
    const userId = await system.learner('mover1');
    await addThroughApi(groupId, userId, 'mover1');
    const other = await system.lms('POST', '/cohorts/', { name: 'Unmirrored', assignment_type: 'manual' });
    expect(
      (await system.lms('POST', `/cohorts/${other.body.id}/users/`, { users: ['mover1'] })).body.changed,
    ).toHaveLength(1);

    const run = await system.reconcile({ course_key: COURSE });
    expect(differencesOf(run, groupId)).toEqual([
      expect.objectContaining({ username: 'mover1', kind: 'removed_in_lms', action: 'remove_from_group' }),
    ]);
    await expectEventually(async () => expect(await members(groupId)).toEqual([]));
  });

  it('adds to the group a learner whose COHORT_MEMBERSHIP_CHANGED the LMS failed to send', async () => {
    const { groupId, cohortId } = await linkedGroup('Lost event');
    await system.learner('lost1');
    await system.lmsFaults({ drop_events_for: ['lost1'] });
    expect((await system.lms('POST', `/cohorts/${cohortId}/users/`, { users: ['lost1'] })).body.added).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await members(groupId)).toEqual([]);

    const dry = await system.reconcile({ group_id: groupId }, true);
    expect(differencesOf(dry, groupId)).toEqual([
      expect.objectContaining({ username: 'lost1', side: 'lms_only', kind: 'missing_in_group', outcome: 'dry_run' }),
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await members(groupId)).toEqual([]); // a dry run changes nothing

    const run = await system.reconcile({ group_id: groupId });
    expect(differencesOf(run, groupId)).toEqual([
      expect.objectContaining({
        username: 'lost1',
        kind: 'missing_in_group',
        action: 'add_to_group',
        outcome: 'repaired',
      }),
    ]);
    await expectEventually(async () =>
      expect((await system.group(groupId)).members).toEqual([
        expect.objectContaining({ username: 'lost1', origin: 'reconciliation', sync_state: 'synced' }),
      ]),
    );
    // The LMS was right already: nothing was written there (still one learner, no new cohort calls needed).
    expect(await system.cohortUsernames(cohortId)).toEqual(['lost1']);
  });

  it('sends again a write to the LMS that was dead-lettered, which stayed pending', async () => {
    const { groupId, cohortId } = await linkedGroup('Dead-lettered write');
    const userId = await system.learner('stuck1');
    await system.lmsFaults({ fail_adds_for: ['stuck1'] });
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username: 'stuck1' }] });
    // Two 500s, then the change is dead-lettered; the membership stays pending.
    await expectEventually(
      async () => {
        const letters = await system.sync('GET', '/dead-letters?consumer_group=legacy-sync-service.user-groups');
        expect(letters.body.results.map((l: { reason: string }) => l.reason)).toContain('RETRY_BUDGET_EXCEEDED');
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect((await system.group(groupId)).members).toEqual([
      expect.objectContaining({ username: 'stuck1', sync_state: 'pending' }),
    ]);
    await http('DELETE', `${system.lmsEmulator.url}/emulator/faults`); // the LMS is fixed

    // Within the grace period (RECONCILE_PENDING_GRACE_SECONDS=3 in these tests, counted from the
    // write) the write counts as in flight, and is left alone; the next run sends it again. A busy
    // machine can take longer than the grace to dead-letter it: then this first run sends it.
    let differences = differencesOf(await system.reconcile({ group_id: groupId }), groupId);
    if (differences[0]?.kind === 'add_in_flight') {
      expect(differences).toHaveLength(1);
      expect(await system.cohortUsernames(cohortId)).toEqual([]);
      await new Promise((r) => setTimeout(r, 3500));
      differences = differencesOf(await system.reconcile({ group_id: groupId }), groupId);
    }
    expect(differences).toEqual([
      expect.objectContaining({
        username: 'stuck1',
        side: 'group_only',
        kind: 'unsent_add',
        action: 'add_in_lms',
        outcome: 'repaired',
      }),
    ]);
    expect(await system.cohortUsernames(cohortId)).toEqual(['stuck1']);
    await expectEventually(async () =>
      expect((await system.group(groupId)).members).toEqual([
        expect.objectContaining({ username: 'stuck1', sync_state: 'synced' }),
      ]),
    );
  });

  it('updates the link and the name cache when cohorts are renamed in the LMS, so later events reach the right group', async () => {
    const a = await linkedGroup('Alpha');
    const b = await linkedGroup('Beta');
    await system.learner('swap1');
    await system.learner('swap2');
    // The two names swap in the LMS (no event says so); the sync still knows them the old way.
    await system.lms('PATCH', `/cohorts/${a.cohortId}`, { name: 'tmp-swap' });
    await system.lms('PATCH', `/cohorts/${b.cohortId}`, { name: 'Alpha' });
    await system.lms('PATCH', `/cohorts/${a.cohortId}`, { name: 'Beta' });
    // An event names "Alpha", which is now b's cohort: the stale cache sends it to a's group.
    await system.lms('POST', `/cohorts/${b.cohortId}/users/`, { users: ['swap1'] });
    await expectEventually(async () =>
      expect([...(await members(a.groupId)), ...(await members(b.groupId))]).toEqual(['swap1']),
    );

    const run = await system.reconcile({ course_key: COURSE });
    const renames = run.report.differences.filter((d: { kind: string }) => d.kind === 'cohort_renamed');
    expect(renames).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ group_id: a.groupId, action: 'update_link', outcome: 'repaired' }),
        expect.objectContaining({ group_id: b.groupId, action: 'update_link', outcome: 'repaired' }),
      ]),
    );
    await expectEventually(async () => {
      expect(await members(a.groupId)).toEqual([]);
      expect(await members(b.groupId)).toEqual(['swap1']);
    });
    const links = await system.query(
      system.legacySyncDatabase,
      'SELECT group_id, legacy_name FROM legacy_link WHERE group_id IN (?, ?) ORDER BY legacy_name',
      [a.groupId, b.groupId],
    );
    expect(links).toEqual([
      { group_id: b.groupId, legacy_name: 'Alpha' },
      { group_id: a.groupId, legacy_name: 'Beta' },
    ]);
    // The next event by the new name goes to the right group.
    await system.lms('POST', `/cohorts/${a.cohortId}/users/`, { users: ['swap2'] });
    await expectEventually(async () => expect(await members(a.groupId)).toEqual(['swap2']));
  });

  it('imports the 1,000 members of an existing cohort when a group is linked to it, and refuses a second group for the same cohort', async () => {
    const usernames = Array.from({ length: 1000 }, (_, i) => `big${i}`);
    await http('POST', `${system.lmsEmulator.url}/emulator/users`, {
      users: usernames.map((username) => ({ username })),
    });
    await http('POST', `${system.lmsEmulator.url}/emulator/enrollments`, {
      enrollments: usernames.map((username) => ({ username, course_id: COURSE })),
    });
    const cohort = await system.lms('POST', '/cohorts/', { name: 'Big existing', assignment_type: 'manual' });
    for (let i = 0; i < usernames.length; i += 100) {
      const res = await system.lms('POST', `/cohorts/${cohort.body.id}/users/`, { users: usernames.slice(i, i + 100) });
      expect(res.body.added).toHaveLength(100);
    }

    const groupId = await system.createCohortGroup('Big mirror', cohort.body.id);
    await expectEventually(
      async () => expect((await system.groups('GET', `/groups/${groupId}/members?page_size=1`)).body.count).toBe(1000),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const [member] = (await system.groups('GET', `/groups/${groupId}/members?page_size=1`)).body.results;
    expect(member).toMatchObject({ origin: 'legacy', sync_state: 'synced' });
    const runs = (await system.sync('GET', '/reconciliations')).body.results.filter(
      (r: { trigger_kind: string; scope_key: string }) => r.trigger_kind === 'link' && r.scope_key === groupId,
    );
    expect(runs).toHaveLength(1);
    const run = await system.finishedRun(runs[0].id);
    expect(run.report.found_by_kind).toEqual({ missing_in_group: 1000 });
    expect(run.report.repaired_by_kind).toEqual({ missing_in_group: 1000 });
    // The run list carries what a drift chart needs of each run.
    const listed = (await system.sync('GET', '/reconciliations')).body.results.find(
      (r: { id: string }) => r.id === runs[0].id,
    );
    expect(listed).toMatchObject({ differences_found: 1000, repaired: 1000 });

    // One cohort, one group: a second group for it is refused, with the reason.
    const second = await system.createCohortGroup('Second mirror', cohort.body.id);
    await expectEventually(async () =>
      expect(await link(second)).toEqual({
        state: 'rejected',
        legacy_id: null,
        last_error: expect.stringContaining(`linked to group ${groupId}`),
      }),
    );
  });

  it("reads the LMS's own tables when given a connection to its database (LMS_DB_URL), with the same findings", async () => {
    const { groupId, cohortId } = await linkedGroup('Database path');
    const keeperId = await system.learner('db_keep');
    const goneId = await system.learner('db_gone');
    await addThroughApi(groupId, keeperId, 'db_keep');
    await addThroughApi(groupId, goneId, 'db_gone');
    await system.learner('db_lost');
    await system.lmsFaults({ drop_events_for: ['db_lost'] });
    await system.lms('POST', `/cohorts/${cohortId}/users/`, { users: ['db_lost'] });
    await system.lms('DELETE', `/cohorts/${cohortId}/users/db_gone`);

    // The same service, configured with a read-only view of the LMS's database (here the emulator's,
    // which has edx-platform's table names), runs the reconciliation; the REST-reading one is stopped meanwhile.
    const rest = system.legacySync;
    const reader = new ServiceProcess(
      'legacy-sync-service',
      testPort(29),
      { ...rest.env, LMS_DB_URL: `${system.env.MYSQL_URL}/${system.lmsDatabase}` },
      `${system.prefix}-legacy-sync-db`,
    );
    await rest.stop();
    try {
      await reader.start();
      const queued = await http(
        'POST',
        `${reader.url}/api/legacy-sync/v1/reconciliations`,
        { group_id: groupId },
        { authorization: `JWT ${await system.accessToken()}` },
      );
      let run: any;
      await expectEventually(async () => {
        run = (
          await http('GET', `${reader.url}/api/legacy-sync/v1/reconciliations/${queued.body.id}`, undefined, {
            authorization: `JWT ${await system.accessToken()}`,
          })
        ).body;
        expect(run.status).toBe('succeeded');
      });
      expect(run.report.source).toBe('database');
      expect(
        differencesOf(run, groupId)
          .map((d) => [d.username, d.kind, d.outcome])
          .sort(),
      ).toEqual([
        ['db_gone', 'removed_in_lms', 'repaired'],
        ['db_lost', 'missing_in_group', 'repaired'],
      ]);
      await expectEventually(async () => expect(await members(groupId)).toEqual(['db_keep', 'db_lost']));
      const metrics = await (await fetch(`${reader.opsUrl}/metrics`)).text();
      expect(metrics).toMatch(/^reconciliation_drift_repaired_total\{kind="removed_in_lms"[^}]*\} 1$/m);
      expect(metrics).toMatch(
        new RegExp(
          `^reconciliation_last_success_timestamp_seconds\\{course_key="${COURSE.replace(/[+]/g, '\\+')}"`,
          'm',
        ),
      );
    } finally {
      await reader.stop();
      await rest.start();
    }
  });

  it('refuses to link a cohort in a course that is not cohorted, saying how to fix it', async () => {
    const course = 'course-v1:DemoX+Plain+2026';
    await http('POST', `${system.lmsEmulator.url}/emulator/courses`, { course_id: course, cohorted: false });
    const res = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: course,
      name: 'Plain',
      kind: 'legacy',
      criteria: [{ type: 'legacy_cohort', config: {} }],
    });
    await expectEventually(async () =>
      expect(await link(res.body.id)).toEqual({
        state: 'rejected',
        legacy_id: null,
        last_error: expect.stringContaining('is not cohorted'),
      }),
    );
    // Nothing was created in the LMS.
    const cohorts = await http(
      'GET',
      `${system.lmsEmulator.url}/api/cohorts/v1/courses/${course}/cohorts/`,
      undefined,
      { authorization: `JWT ${await system.accessToken()}` },
    );
    expect(cohorts.body).toEqual([]);
  });
});
