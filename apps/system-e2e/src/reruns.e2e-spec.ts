import { expectConsistently, expectEventually, http } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

const NEXT = 'course-v1:DemoX+Sync+2027';

/**
 * A course re-run in Studio (the emulator's rerun fixture, as Studio's rerun task leaves the LMS's
 * tables), noticed by groups-service in the LMS's rerun table: criteria-based groups carry over and
 * are evaluated on the new run's learners, a cohort-linked group finds or makes its cohort there,
 * a team-linked one stays behind, a manual one goes only when flagged, empty.
 */
describe('course reruns, end to end', () => {
  const system = new System(
    150,
    {},
    { evaluator: true, groupsLmsDatabase: { RERUNS_POLL_SECONDS: '1', RERUNS_LOOKBACK_HOURS: '1' } },
  );

  beforeAll(async () => {
    await system.start();
    const res = await http('POST', `${system.lmsEmulator.url}/emulator/courses`, {
      course_id: COURSE,
      teams_configuration: { max_team_size: 5, team_sets: [{ id: 'projects', name: 'Projects', type: 'open' }] },
    });
    if (res.status >= 300) throw new Error(`course: ${res.status} ${JSON.stringify(res.body)}`);
  }, 180_000);
  afterAll(() => system.stop(), 60_000);

  const create = async (body: Record<string, unknown>, course = COURSE) => {
    const res = await system.groups('POST', '/groups', { scope_type: 'course', scope_key: course, ...body });
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  const enroll = (username: string, course: string, mode: string) =>
    http('POST', `${system.lmsEmulator.url}/emulator/enrollments`, { username, course_id: course, mode });
  const groupsOf = async (course: string) =>
    (await system.groups('GET', `/groups?scope_type=course&scope_key=${encodeURIComponent(course)}&page_size=100`)).body
      .results as Array<{
      id: string;
      name: string;
      kind: string;
      member_count: number;
      rerun_of: { group_id: string; course_key: string } | null;
      legacy_link: { type: string; cohort_id?: number } | null;
    }>;
  const cohortsOf = async (course: string) =>
    (
      await system.query(
        system.lmsDatabase,
        `SELECT g.id, g.name, c.assignment_type FROM course_groups_courseusergroup g
         JOIN course_groups_coursecohort c ON c.course_user_group_id = g.id WHERE g.course_id = ? ORDER BY g.name`,
        [course],
      )
    ).map((r: { id: number; name: string; assignment_type: string }) => ({ ...r, id: Number(r.id) }));

  it('carries the groups over once, each by its rule, and evaluates the criteria on the new run', async () => {
    // The run that ends: learners, and one group of each kind.
    for (const u of ['ana', 'ben']) await system.learner(u);
    await enroll('ana', COURSE, 'verified');
    const verified = await create({
      kind: 'dynamic',
      name: 'Verified learners',
      criteria: [{ type: 'enrollment_mode', operator: '=', value: 'verified' }],
    });
    await expectEventually(async () => expect((await system.activeUsernames(verified)).sort()).toEqual(['ana']), {
      timeoutMs: 20_000,
    });
    const buddies = await create({ kind: 'manual', name: 'Study buddies' });
    const csv = await fetch(`${system.groupsService.url}/api/user-groups/v1/groups/${buddies}/members/csv`, {
      method: 'POST',
      headers: { authorization: `JWT ${await system.accessToken()}`, 'content-type': 'text/csv' },
      body: 'username\nana\nben\n',
    });
    expect(csv.status).toBe(200);
    const mentors = await create({ kind: 'manual', name: 'Mentors', carry_over_on_rerun: true });
    await system.groups('POST', `/groups/${mentors}/members`, { members: [{ username: 'ben' }] });
    const sectionA = await system.createCohortGroup('Section A');
    // A random cohort (the course's automatic cohorts), mirrored by a group.
    const auto = await system.lms('POST', '/cohorts/', { name: 'Auto A', assignment_type: 'random' });
    expect(auto.status).toBe(200);
    const autoGroup = await system.createCohortGroup('Auto A', auto.body.id);
    const team = await create({
      kind: 'legacy',
      name: 'Team Blue',
      criteria: [{ type: 'legacy_team', config: { teamset_id: 'projects' } }],
    });
    for (const id of [sectionA, autoGroup]) await expectEventually(() => system.cohortIdOf(id));

    // Studio re-runs the course; the new run's learners enroll.
    const rerun = await http('POST', `${system.lmsEmulator.url}/emulator/reruns`, {
      source_course_id: COURSE,
      course_id: NEXT,
    });
    expect(rerun.status).toBe(201);
    // As Studio leaves it: the automatic cohort is there (empty), the manual one is not.
    expect((await cohortsOf(NEXT)).map((c: { name: string }) => c.name)).toEqual(['Auto A']);
    for (const u of ['carl', 'dan']) await system.learner(u);
    await enroll('carl', NEXT, 'verified');
    await enroll('dan', NEXT, 'audit');

    // groups-service reads the rerun from the LMS's table within its poll.
    let copies: Awaited<ReturnType<typeof groupsOf>> = [];
    await expectEventually(
      async () => {
        copies = await groupsOf(NEXT);
        expect(copies.map((g) => g.name).sort()).toEqual(['Auto A', 'Mentors', 'Section A', 'Verified learners']);
      },
      { timeoutMs: 20_000 },
    );
    const byName = Object.fromEntries(copies.map((g) => [g.name, g]));
    expect(Object.fromEntries(copies.map((g) => [g.name, g.rerun_of]))).toEqual({
      'Auto A': { group_id: autoGroup, course_key: COURSE },
      Mentors: { group_id: mentors, course_key: COURSE },
      'Section A': { group_id: sectionA, course_key: COURSE },
      'Verified learners': { group_id: verified, course_key: COURSE },
    });
    expect(copies.map((g) => g.name)).not.toContain('Team Blue');
    expect(copies.map((g) => g.name)).not.toContain('Study buddies');
    void team;

    // The dynamic copy holds the new run's verified learners, never the old run's.
    await expectEventually(
      async () => expect(await system.activeUsernames(byName['Verified learners'].id)).toEqual(['carl']),
      { timeoutMs: 20_000 },
    );
    // The flagged manual group came over empty.
    expect(await system.activeUsernames(byName.Mentors.id)).toEqual([]);
    // Cohort-linked: the new run's "Auto A" (Studio made it) is linked; "Section A" is created there.
    await expectEventually(
      async () => {
        const cohorts = await cohortsOf(NEXT);
        expect(cohorts.map((c: { name: string }) => c.name)).toEqual(['Auto A', 'Section A']);
        const idOf = (name: string) => cohorts.find((c: { name: string }) => c.name === name)!.id;
        expect(await system.cohortIdOf(byName['Auto A'].id)).toBe(idOf('Auto A'));
        expect(await system.cohortIdOf(byName['Section A'].id)).toBe(idOf('Section A'));
      },
      { timeoutMs: 20_000 },
    );

    // A second notice of the same rerun, by hand, changes nothing; nor do the poller's next reads.
    const again = await system.groups('POST', '/reruns', { source_course_key: COURSE, course_key: NEXT });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ applied: false, noticed_by: 'lms' });
    expect(again.body.report.copied).toHaveLength(4);
    await expectConsistently(
      async () => expect((await groupsOf(NEXT)).map((g) => g.id).sort()).toEqual(copies.map((g) => g.id).sort()),
      { durationMs: 3000 },
    );
  });
});
