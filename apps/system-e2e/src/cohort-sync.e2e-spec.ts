import { ConfluentSchemaRegistry, EventCodec, EventType, newEventMetadata } from '@groups-sync/contracts';
import { expectConsistently, expectEventually, http } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

describe('cohort sync, both ways, with the services as processes', () => {
  const system = new System(0);

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 60_000);

  const groupsDb = (sql: string, params: unknown[] = []) => system.query(system.groupsDatabase, sql, params);
  const syncDb = (sql: string, params: unknown[] = []) => system.query(system.legacySyncDatabase, sql, params);

  it('creates the cohort of a new cohort-linked group in the LMS and links it', async () => {
    const groupId = await system.createCohortGroup('Section A');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));
    const cohort = await system.lms('GET', `/cohorts/${cohortId}`);
    expect(cohort.body).toMatchObject({ id: cohortId, name: 'Section A', assignment_type: 'manual' });
  });

  it('links a group to an existing cohort without creating another', async () => {
    const created = await system.lms('POST', '/cohorts/', { name: 'Existing', assignment_type: 'manual' });
    const groupId = await system.createCohortGroup('Mirror of Existing', created.body.id);
    await expectEventually(async () => expect(await system.cohortIdOf(groupId)).toBe(created.body.id));
    const names = ((await system.lms('GET', '/cohorts/?page_size=100')).body as Array<{ name: string }>).map(
      (c) => c.name,
    );
    expect(names.filter((n) => n === 'Mirror of Existing')).toHaveLength(0);
  });

  it('puts a member added through the API into the cohort and marks it synced', async () => {
    const userId = await system.learner('ana');
    const groupId = await system.createCohortGroup('Section B');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));

    const res = await system.groups('POST', `/groups/${groupId}/members`, {
      members: [{ user_id: userId, username: 'ana' }],
    });
    expect(res.body.results).toEqual([{ user_id: userId, username: 'ana', result: 'added' }]);

    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['ana']));
    await expectEventually(async () =>
      expect((await system.group(groupId)).members[0]).toMatchObject({
        username: 'ana',
        origin: 'api',
        sync_state: 'synced',
      }),
    );
  });

  it('adds a learner put in the cohort through the LMS to the group, and nothing bounces back', async () => {
    const userId = await system.learner('ben');
    const groupId = await system.createCohortGroup('Section C');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));

    const added = await system.lms('POST', `/cohorts/${cohortId}/users/`, { users: ['ben'] });
    expect(added.body.added).toEqual([{ username: 'ben', email: 'ben@example.com' }]);

    await expectEventually(
      async () =>
        expect((await system.group(groupId)).members).toEqual([
          expect.objectContaining({ user_id: userId, username: 'ben', origin: 'legacy', sync_state: 'synced' }),
        ]),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    // No ping-pong: one membership event, one audit row, the cohort unchanged, for as long as we watch.
    await expectConsistently(
      async () => {
        const events = await groupsDb(`SELECT COUNT(*) AS n FROM outbox WHERE event_type = ? AND aggregate_id = ?`, [
          EventType.UserGroupMembershipChanged,
          groupId,
        ]);
        expect(Number(events[0].n)).toBe(1);
        const audit = await groupsDb(
          `SELECT COUNT(*) AS n FROM audit_event WHERE group_id = ? AND action = 'member_added'`,
          [groupId],
        );
        expect(Number(audit[0].n)).toBe(1);
        expect(await system.cohortUsernames(cohortId)).toEqual(['ben']);
      },
      { durationMs: 2000, intervalMs: 250 },
    );
  });

  it("removes from the group, within a second, a learner removed from the cohort in an LMS with the companion plugin's removal event", async () => {
    await system.learner('cleo');
    const groupId = await system.createCohortGroup('Section R');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));
    await http('PUT', `${system.lmsEmulator.url}/emulator/settings`, { emit_cohort_removal_events: true });
    try {
      await system.lms('POST', `/cohorts/${cohortId}/users/`, { users: ['cleo'] });
      await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual(['cleo']));
      const removedAt = Date.now();
      expect((await system.lms('DELETE', `/cohorts/${cohortId}/users/cleo`)).status).toBe(204);
      await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual([]), {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      const took = Date.now() - removedAt;
      console.log(`cohort removal in the LMS (${system.lmsEventBus}) to the group: ${took} ms`);
      expect(took).toBeLessThan(10_000); // the target (a second) is measured, not asserted: this machine is shared
      // Not sent back: the cohort stays without her, and one removal is audited.
      await expectConsistently(async () => expect(await system.cohortUsernames(cohortId)).toEqual([]), {
        durationMs: 1000,
        intervalMs: 250,
      });
    } finally {
      await http('DELETE', `${system.lmsEmulator.url}/emulator/settings`);
    }
  });

  it('moves a learner moved between cohorts in the LMS out of the other cohort-linked group', async () => {
    await system.learner('cruz');
    const first = await system.createCohortGroup('Section D');
    const second = await system.createCohortGroup('Section E');
    const [cohortD, cohortE] = await expectEventually(() =>
      Promise.all([system.cohortIdOf(first), system.cohortIdOf(second)]),
    );

    await system.lms('POST', `/cohorts/${cohortD}/users/`, { users: ['cruz'] });
    await expectEventually(async () => expect(await system.activeUsernames(first)).toEqual(['cruz']));
    const moved = await system.lms('POST', `/cohorts/${cohortE}/users/`, { users: ['cruz'] });
    expect(moved.body.changed).toEqual([{ email: 'cruz@example.com', previous_cohort: 'Section D', username: 'cruz' }]);

    await expectEventually(async () => {
      expect(await system.activeUsernames(second)).toEqual(['cruz']);
      expect(await system.activeUsernames(first)).toEqual([]);
    });
    expect(await system.cohortUsernames(cohortE)).toEqual(['cruz']);
  });

  it('moves a learner added to a second cohort-linked group through the API, in the LMS too', async () => {
    const userId = await system.learner('dana');
    const first = await system.createCohortGroup('Section F');
    const second = await system.createCohortGroup('Section G');
    const [cohortF, cohortG] = await expectEventually(() =>
      Promise.all([system.cohortIdOf(first), system.cohortIdOf(second)]),
    );
    await system.groups('POST', `/groups/${first}/members`, { members: [{ user_id: userId, username: 'dana' }] });
    await expectEventually(async () => expect(await system.cohortUsernames(cohortF)).toEqual(['dana']));

    await system.groups('POST', `/groups/${second}/members`, { members: [{ user_id: userId, username: 'dana' }] });

    expect(await system.activeUsernames(first)).toEqual([]);
    await expectEventually(async () => {
      expect(await system.cohortUsernames(cohortG)).toEqual(['dana']);
      expect(await system.cohortUsernames(cohortF)).toEqual([]);
    });
  });

  it('removes a member removed through the API from the cohort', async () => {
    const userId = await system.learner('eli');
    const groupId = await system.createCohortGroup('Section H');
    const cohortId = await expectEventually(() => system.cohortIdOf(groupId));
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username: 'eli' }] });
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['eli']));

    const res = await system.groups('DELETE', `/groups/${groupId}/members/${userId}`);
    expect(res.body).toEqual({ user_id: userId, username: 'eli', result: 'removed' });
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual([]));
    // The add's echo confirmed its pending write; the removal (never echoed) left none.
    await expectEventually(async () => {
      const rows = await syncDb(
        `SELECT action, confirmed_at FROM pending_lms_write WHERE user_id = ? AND legacy_id = ?`,
        [userId, String(cohortId)],
      );
      expect(rows).toEqual([{ action: 'added', confirmed_at: expect.any(Date) }]);
    });
  });

  it('applies an LMS event delivered twice (same ce_id) once', async () => {
    const userId = await system.learner('fay');
    const groupId = await system.createCohortGroup('Section I');
    await expectEventually(() => system.cohortIdOf(groupId));
    const codec = new EventCodec(new ConfluentSchemaRegistry(system.env.SCHEMA_REGISTRY_URL), system.prefix);
    const message = await codec.encode(
      EventType.CohortMembershipChanged,
      {
        cohort: {
          user: { id: userId, is_active: true, pii: { username: 'fay', email: 'fay@example.com', name: 'fay' } },
          course: { course_key: COURSE, display_name: '', start: null, end: null },
          name: 'Section I',
        },
      },
      newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
    );

    await system.produce([message]);
    await system.produce([message]);

    await expectEventually(async () => expect(await system.activeUsernames(groupId)).toEqual(['fay']));
    await expectConsistently(
      async () => {
        const [audit] = await groupsDb(
          `SELECT COUNT(*) AS n FROM audit_event WHERE group_id = ? AND action = 'member_added'`,
          [groupId],
        );
        expect(Number(audit.n)).toBe(1);
        // legacy-sync's inbox kept the second delivery from being forwarded at all.
        const [inbox] = await syncDb(`SELECT COUNT(*) AS n FROM inbox WHERE event_id = ?`, [message.headers.ce_id]);
        expect(Number(inbox.n)).toBe(1);
        const [forwarded] = await syncDb(`SELECT COUNT(*) AS n FROM outbox WHERE event_type = ? AND aggregate_id = ?`, [
          EventType.LegacyMembershipObserved,
          groupId,
        ]);
        expect(Number(forwarded.n)).toBe(1);
      },
      { durationMs: 2000 },
    );
  });

  it('answers bad input with a 4xx and a reason, never a 5xx', async () => {
    const bad = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: 'not a course',
      name: 'x',
      kind: 'legacy',
      criteria: [{ type: 'legacy_cohort' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_SCOPE');
    const unknownField = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'x',
      kind: 'manual',
      colour: 'red',
    });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.message).toContain('colour');
    await system.createCohortGroup('Twice');
    const twice = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'Twice',
      kind: 'manual',
    });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('GROUP_NAME_TAKEN');
    expect((await system.groups('GET', '/groups/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
