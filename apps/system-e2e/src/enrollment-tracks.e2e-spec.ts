import { EventType } from '@groups-sync/contracts';
import { expectConsistently, expectEventually, http } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

/**
 * Enrollment-track groups, read-only mirrors of edx-platform's enrollment track partition, on real
 * Kafka and MariaDB: linking imports the track's learners (credit in verified, inactive in none);
 * new enrollments, mode changes and unenrollments move learners within a second, whatever the
 * duplicates and late redeliveries; a lost event is repaired by reconciliation; bad links are
 * refused with the reason.
 */
describe("enrollment tracks: groups that mirror a course's enrollment modes", () => {
  const system = new System(70);

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 60_000);

  const enroll = async (username: string, mode: string, isActive = true) => {
    const res = await http('POST', `${system.lmsEmulator.url}/emulator/enrollments`, {
      username,
      course_id: COURSE,
      mode,
      is_active: isActive,
    });
    if (res.status >= 300) throw new Error(`enroll: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const newLearner = async (username: string, mode: string, isActive = true) => {
    const user = await http('POST', `${system.lmsEmulator.url}/emulator/users`, {
      username,
      email: `${username}@example.com`,
    });
    await enroll(username, mode, isActive);
    return { id: user.body.id as number, username };
  };
  const trackGroup = async (mode: string) => {
    const res = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: `Track ${mode}`,
      kind: 'legacy',
      criteria: [{ type: 'legacy_enrollment_track', config: { mode } }],
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const within = (ms: number, assertion: () => Promise<void>) =>
    expectEventually(assertion, { timeoutMs: ms, intervalMs: 25 });

  let verified: string;
  let audit: string;

  it("imports a track's learners when linked: credit counts as verified, an inactive enrollment as none", async () => {
    await newLearner('tr_verified', 'verified');
    await newLearner('tr_credit', 'credit');
    await newLearner('tr_audit', 'audit');
    await newLearner('tr_gone', 'verified', false);
    verified = await trackGroup('verified');
    audit = await trackGroup('audit');
    await expectEventually(
      async () => expect(await system.activeUsernames(verified)).toEqual(['tr_credit', 'tr_verified']),
      { timeoutMs: 20_000 },
    );
    await expectEventually(async () => expect(await system.activeUsernames(audit)).toEqual(['tr_audit']), {
      timeoutMs: 20_000,
    });
    const members = (await system.group(verified)).members as Array<{ origin: string }>;
    expect(members.every((m) => m.origin === 'legacy')).toBe(true);
    // Read-only: the LMS's enrollments decide.
    expect(
      (await system.groups('POST', `/groups/${verified}/members`, { members: [{ username: 'tr_audit' }] })).status,
    ).toBe(409);
  });

  it('moves a learner within a second on a new verified enrollment, a mode change to audit and an unenrollment', async () => {
    let t = Date.now();
    await newLearner('tr_new', 'verified');
    await within(1000, async () => expect(await system.activeUsernames(verified)).toContain('tr_new'));
    const enrolled = Date.now() - t;

    t = Date.now();
    await enroll('tr_new', 'audit');
    await within(1000, async () => {
      expect(await system.activeUsernames(verified)).not.toContain('tr_new');
      expect(await system.activeUsernames(audit)).toContain('tr_new');
    });
    const changed = Date.now() - t;

    t = Date.now();
    await enroll('tr_new', 'audit', false);
    await within(1000, async () => expect(await system.activeUsernames(audit)).not.toContain('tr_new'));
    console.log(
      `enrollment event to track group: new ${enrolled} ms, mode change ${changed} ms, unenrollment ${Date.now() - t} ms`,
    );
  });

  it("ends where the last event says, with edx-platform's order duplicated and an older event redelivered late", async () => {
    const learner = await newLearner('tr_noisy', 'audit');
    await within(5000, async () => expect(await system.activeUsernames(audit)).toContain('tr_noisy'));
    const t = Date.now() + 1000;
    // A change to verified (CHANGED only), sent twice, then the older audit enrollment (CHANGED, CREATED) redelivered.
    const change = await system.enrollmentEvent(
      EventType.CourseEnrollmentChanged,
      learner,
      'verified',
      true,
      new Date(t),
    );
    const older = [
      await system.enrollmentEvent(EventType.CourseEnrollmentChanged, learner, 'audit', true, new Date(t - 5000)),
      await system.enrollmentEvent(EventType.CourseEnrollmentCreated, learner, 'audit', true, new Date(t - 5000)),
    ];
    await system.produce([change, change, ...older]);
    await within(5000, async () => expect(await system.activeUsernames(verified)).toContain('tr_noisy'));
    await expectConsistently(
      async () => {
        expect(await system.activeUsernames(verified)).toContain('tr_noisy');
        expect(await system.activeUsernames(audit)).not.toContain('tr_noisy');
      },
      { durationMs: 1500 },
    );

    // An unenrollment as edx-platform sends it: CHANGED (inactive) then UNENROLLMENT_COMPLETED.
    await system.produce([
      await system.enrollmentEvent(EventType.CourseEnrollmentChanged, learner, 'verified', false, new Date(t + 1000)),
      await system.enrollmentEvent(
        EventType.CourseUnenrollmentCompleted,
        learner,
        'verified',
        false,
        new Date(t + 1000),
      ),
    ]);
    await within(5000, async () => expect(await system.activeUsernames(verified)).not.toContain('tr_noisy'));
  });

  it('repairs a lost enrollment event through reconciliation', async () => {
    await newLearner('tr_lost', 'audit');
    await within(5000, async () => expect(await system.activeUsernames(audit)).toContain('tr_lost'));
    await system.lmsFaults({ drop_events_for: ['tr_lost'] });
    try {
      await enroll('tr_lost', 'verified');
      await expectConsistently(async () => expect(await system.activeUsernames(audit)).toContain('tr_lost'), {
        durationMs: 1000,
      });
    } finally {
      await system.lmsFaults({ drop_events_for: [] });
    }
    const run = await system.reconcile({ course_key: COURSE });
    expect(run.status).toBe('succeeded');
    expect(run.report.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          group_id: verified,
          username: 'tr_lost',
          kind: 'missing_in_group',
          action: 'add_to_group',
          outcome: 'repaired',
        }),
        expect.objectContaining({
          group_id: audit,
          username: 'tr_lost',
          kind: 'removed_in_lms',
          action: 'remove_from_group',
          outcome: 'repaired',
        }),
      ]),
    );
    await expectEventually(
      async () => {
        expect(await system.activeUsernames(verified)).toContain('tr_lost');
        expect(await system.activeUsernames(audit)).not.toContain('tr_lost');
      },
      { timeoutMs: 10_000 },
    );
  });

  it('refuses a credit track, a mode the course does not offer and a second group for one track, saying why', async () => {
    const history = async (id: string) =>
      (await system.groups('GET', `/groups/${id}/history`)).body.results as Array<{
        action: string;
        details: { error?: string };
      }>;
    for (const [mode, reason] of [
      ['credit', 'credit learners are in the verified track'],
      ['masters', 'offers no "masters" mode'],
      ['verified', 'mirrored by group'],
    ]) {
      const res = await system.groups('POST', '/groups', {
        scope_type: 'course',
        scope_key: COURSE,
        name: `Again ${mode}`,
        kind: 'legacy',
        criteria: [{ type: 'legacy_enrollment_track', config: { mode } }],
      });
      expect(res.status).toBe(201);
      await expectEventually(
        async () =>
          expect(
            (await history(res.body.id)).find((h) => h.action === 'legacy_link_rejected')?.details.error,
          ).toContain(reason),
        { timeoutMs: 10_000 },
      );
    }
  });
});
