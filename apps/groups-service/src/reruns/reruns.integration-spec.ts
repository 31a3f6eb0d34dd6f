import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { http } from '@groups-sync/testing';
import { GroupsApp, startGroupsApp } from '../test/groups-app';
import { createConnection } from 'mysql2/promise';
import { RerunsPoller } from './reruns.poller';
import { RerunsService } from './reruns.service';

const API = '/api/user-groups/v1';

describe('course reruns: what the groups are carries over, who was put in them by hand does not', () => {
  let app: INestApplication;
  let db: DataSource;
  let lms: GroupsApp['lms'];
  let stop: () => Promise<void>;
  let staffToken: string;
  let lmsUsers: GroupsApp['lmsUsers'];
  let lmsDatabaseUrl: string;
  /** Studio's record of a rerun, written into the LMS's table as its rerun task does. */
  const studioRerun = async (source: string, course: string, hoursAgo: number, state = 'succeeded') => {
    const conn = await createConnection(lmsDatabaseUrl);
    try {
      await conn.query(
        `INSERT INTO course_action_state_coursererunstate
           (created_time, updated_time, course_key, action, state, should_display, message, source_course_key, display_name)
         VALUES (NOW(6) - INTERVAL ? HOUR, NOW(6) - INTERVAL ? HOUR, ?, 'rerun', ?, 1, '', ?, '')`,
        [hoursAgo, hoursAgo, course, state, source],
      );
    } finally {
      await conn.end();
    }
  };
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  let run = 0;
  const runs = () => {
    run++;
    return { old: `course-v1:TestX+Rerun${run}+2025`, next: `course-v1:TestX+Rerun${run}+2026` };
  };
  const create = async (course: string, body: Record<string, unknown>) => {
    const res = await api()
      .post(`${API}/groups`)
      .send({ scope_type: 'course', scope_key: course, kind: 'manual', ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  };
  const groupsOf = async (course: string) =>
    (
      await db.query(
        `SELECT id, name, kind, collection, frozen, carry_over_on_rerun, rerun_of_group_id, rerun_of_course_key,
                refresh_cadence_seconds, description
         FROM user_group WHERE scope_key = ? AND deleted_at IS NULL ORDER BY name`,
        [course],
      )
    ).map((g: Record<string, unknown>) => ({ ...g, frozen: !!g.frozen, carry_over_on_rerun: !!g.carry_over_on_rerun }));

  beforeAll(async () => {
    // The LMS's database is the emulator's; the poller is driven by hand (RERUNS_POLL_SECONDS=0).
    ({
      app,
      dataSource: db,
      stop,
      staffToken,
      lmsUsers,
      lms,
      lmsDatabaseUrl,
    } = await startGroupsApp(60, (lms) => ({
      LMS_DB_URL: lms.databaseUrl,
      RERUNS_POLL_SECONDS: '0',
    })));
  }, 90_000);
  afterAll(() => stop());

  it('copies dynamic, flagged manual, cohort-linked and offered-track groups, re-scoped and empty; not teams, unflagged manual groups or untaken modes', async () => {
    const { old, next } = runs();
    for (const course of [old, next]) await http('POST', `${lms.url}/emulator/courses`, { course_id: course });
    const [ana, ben] = await lmsUsers(['rerun_ana', 'rerun_ben']);
    const dynamic = await create(old, {
      kind: 'dynamic',
      name: 'Active learners',
      description: 'logged in this month',
      collection: 'Pace',
      refresh_cadence_seconds: 3600,
      criteria: [{ type: 'last_login', operator: '<=', value: 30 }],
    });
    const byHand = await create(old, { name: 'Made by hand' });
    const flagged = await create(old, { name: 'Mentors', carry_over_on_rerun: true });
    await api()
      .post(`${API}/groups/${flagged.id}/members`)
      .send({ members: [ana, ben] })
      .expect(200);
    await api()
      .post(`${API}/groups/${byHand.id}/members`)
      .send({ members: [ana] })
      .expect(200);
    const cohort = await create(old, {
      kind: 'legacy',
      name: 'Section A',
      criteria: [{ type: 'legacy_cohort', config: { cohort_id: 7 } }],
    });
    await create(old, {
      kind: 'legacy',
      name: 'Team Blue',
      criteria: [{ type: 'legacy_team', config: { team_id: 'blue' } }],
    });
    const verified = await create(old, {
      kind: 'legacy',
      name: 'Verified track',
      criteria: [{ type: 'legacy_enrollment_track', config: { mode: 'verified' } }],
    });
    await create(old, {
      kind: 'legacy',
      name: 'Professional track',
      criteria: [{ type: 'legacy_enrollment_track', config: { mode: 'professional' } }],
    });

    const res = await api().post(`${API}/reruns`).send({ source_course_key: old, course_key: next });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ applied: true, source_course_key: old, course_key: next, noticed_by: 'api' });
    expect(res.body.report.skipped.map((s: { name: string; reason: string }) => [s.name, s.reason])).toEqual([
      ['Made by hand', 'a manual group carries over only with carry_over_on_rerun'],
      ['Professional track', 'the new run does not offer the mode "professional"'],
      ['Team Blue', 'teams belong to one run'],
    ]);

    const copies = await groupsOf(next);
    expect(copies.map((g: { name: string }) => g.name)).toEqual([
      'Active learners',
      'Mentors',
      'Section A',
      'Verified track',
    ]);
    const from = Object.fromEntries(
      copies.map((g: { name: string; rerun_of_group_id: string }) => [g.name, g.rerun_of_group_id]),
    );
    expect(from).toEqual({
      'Active learners': dynamic.id,
      Mentors: flagged.id,
      'Section A': cohort.id,
      'Verified track': verified.id,
    });
    expect(copies[0]).toMatchObject({
      kind: 'dynamic',
      description: 'logged in this month',
      collection: 'Pace',
      refresh_cadence_seconds: 3600,
      frozen: false,
      rerun_of_course_key: old,
    });
    expect(copies[1]).toMatchObject({ kind: 'manual', carry_over_on_rerun: true });
    // No membership carries over, not even from the flagged manual group.
    const members = await db.query('SELECT COUNT(*) AS n FROM membership WHERE group_id IN (?)', [
      copies.map((g: { id: string }) => g.id),
    ]);
    expect(Number(members[0].n)).toBe(0);
    // The criteria are copied; a cohort is linked by name in the new run, never by the old run's id.
    const criteria = await db.query(
      'SELECT g.name, c.type, c.operator, c.value, c.config FROM criterion c JOIN user_group g ON g.id = c.group_id WHERE g.scope_key = ? ORDER BY g.name',
      [next],
    );
    expect(
      criteria.map((c: { name: string; type: string; value: unknown; config: unknown }) => [
        c.name,
        c.type,
        c.value === null ? null : JSON.parse(c.value as string),
        JSON.parse(c.config as string),
      ]),
    ).toEqual([
      ['Active learners', 'last_login', 30, {}],
      ['Section A', 'legacy_cohort', null, {}],
      ['Verified track', 'legacy_enrollment_track', null, { mode: 'verified' }],
    ]);
    // Each copy's history says where it came from; the view too.
    const audit = await db.query(
      "SELECT `trigger` AS t, details FROM audit_event WHERE group_id = ? AND action = 'group_created'",
      [copies[0].id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].t).toBe('rerun');
    expect(typeof audit[0].details === 'string' ? JSON.parse(audit[0].details) : audit[0].details).toMatchObject({
      origin: 'rerun',
      rerun_of: { group_id: dynamic.id, course_key: old },
    });
    const shown = await api().get(`${API}/groups/${copies[0].id}`).expect(200);
    expect(shown.body.rerun_of).toEqual({ group_id: dynamic.id, course_key: old });
    // The dynamic copy is evaluated at once: its created event asks for it.
    const created = await db.query(
      "SELECT payload FROM outbox WHERE event_type = 'org.openedx.learning.user_group.created.v1'",
    );
    const event = created
      .map((r: { payload: unknown }) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload))
      .find((p: { user_group: { id: string } }) => p.user_group.id === copies[0].id);
    expect(event.user_group).toMatchObject({ scope_key: next, evaluate_now: true });
  });

  it('applies a rerun once: a second notice, by the API or from the LMS, changes nothing', async () => {
    const { old, next } = runs();
    for (const course of [old, next]) await http('POST', `${lms.url}/emulator/courses`, { course_id: course });
    await create(old, { kind: 'dynamic', name: 'Once', criteria: [{ type: 'last_login', operator: '<=', value: 7 }] });
    const first = await api().post(`${API}/reruns`).send({ source_course_key: old, course_key: next }).expect(200);
    expect(first.body.applied).toBe(true);
    const again = await api().post(`${API}/reruns`).send({ source_course_key: old, course_key: next }).expect(200);
    expect(again.body).toMatchObject({ applied: false, noticed_by: 'api', report: first.body.report });
    const late = await app.get(RerunsService).apply(old, next, { by: 'lms', lmsUpdatedAt: new Date() });
    expect(late.applied).toBe(false);
    // Two notices at once (two instances): one applies, the other finds its row.
    const { old: old2, next: next2 } = runs();
    await create(old2, {
      kind: 'dynamic',
      name: 'Raced',
      criteria: [{ type: 'last_login', operator: '<=', value: 7 }],
    });
    const raced = await Promise.all([
      app.get(RerunsService).apply(old2, next2, { by: 'lms', lmsUpdatedAt: new Date() }),
      app.get(RerunsService).apply(old2, next2, { by: 'api', requestedBy: 'staff' }),
    ]);
    expect(raced.map((r) => r.applied).sort()).toEqual([false, true]);
    expect((await groupsOf(next)).map((g: { name: string }) => g.name)).toEqual(['Once']);
    expect((await groupsOf(next2)).map((g: { name: string }) => g.name)).toEqual(['Raced']);
  });

  it('leaves a group the new run already has by name as it is, and says so', async () => {
    const { old, next } = runs();
    await create(old, { kind: 'dynamic', name: 'Taken', criteria: [{ type: 'last_login', operator: '<=', value: 7 }] });
    const mine = await create(next, { name: 'Taken' });
    const res = await api().post(`${API}/reruns`).send({ source_course_key: old, course_key: next }).expect(200);
    expect(res.body.report.skipped).toEqual([
      expect.objectContaining({ name: 'Taken', reason: `the new run has a group of this name already (${mine.id})` }),
    ]);
    expect(await groupsOf(next)).toEqual([
      expect.objectContaining({ id: mine.id, kind: 'manual', rerun_of_group_id: null }),
    ]);
  });

  it("reads Studio's finished reruns from the LMS's table: from a day back at first, then on from the last read", async () => {
    const old = runs();
    const recent = runs();
    const failed = runs();
    const later = runs();
    for (const r of [old, recent, failed, later])
      await create(r.old, {
        kind: 'dynamic',
        name: 'Polled',
        criteria: [{ type: 'last_login', operator: '<=', value: 7 }],
      });
    await studioRerun(old.old, old.next, 30); // before the first read's 24 hours: left alone
    await studioRerun(recent.old, recent.next, 2);
    await studioRerun(failed.old, failed.next, 1, 'failed');
    const poller = app.get(RerunsPoller);
    await poller.poll();
    expect((await groupsOf(old.next)).length).toBe(0);
    expect((await groupsOf(recent.next)).map((g: { name: string }) => g.name)).toEqual(['Polled']);
    expect((await groupsOf(failed.next)).length).toBe(0);
    const [cursor] = await db.query('SELECT lms_since FROM rerun_cursor WHERE id = 1');
    await studioRerun(later.old, later.next, 0);
    await poller.poll();
    expect((await groupsOf(later.next)).map((g: { name: string }) => g.name)).toEqual(['Polled']);
    const [moved] = await db.query('SELECT lms_since FROM rerun_cursor WHERE id = 1');
    expect(new Date(moved.lms_since).getTime()).toBeGreaterThan(new Date(cursor.lms_since).getTime());
    // Read again (the last rerun is read each time): nothing changes.
    await poller.poll();
    expect((await groupsOf(recent.next)).length).toBe(1);
    expect(
      (await db.query('SELECT noticed_by FROM course_rerun WHERE course_key = ?', [recent.next]))[0].noticed_by,
    ).toBe('lms');
  });

  it('lets a course team flag a manual group for carrying over, and lists each group with its members and sync counts', async () => {
    const { old } = runs();
    const g = await create(old, { name: 'Flag me later' });
    const patched = await api()
      .patch(`${API}/groups/${g.id}`)
      .set('If-Match', '"1"')
      .send({ carry_over_on_rerun: true });
    expect(patched.status).toBe(200);
    expect(patched.body.carry_over_on_rerun).toBe(true);
    const [ana] = await lmsUsers(['rerun_flag_ana']);
    await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [ana] })
      .expect(200);
    const listed = await api().get(`${API}/groups`).query({ scope_type: 'course', scope_key: old }).expect(200);
    expect(listed.body.results).toEqual([
      expect.objectContaining({
        id: g.id,
        member_count: 1,
        sync: { pending: 0, rejected: 0 },
        carry_over_on_rerun: true,
      }),
    ]);
  });

  it('refuses a rerun of a run into itself, and keys that are not course keys', async () => {
    const same = await api()
      .post(`${API}/reruns`)
      .send({ source_course_key: 'course-v1:TestX+Same+2026', course_key: 'course-v1:TestX+Same+2026' });
    expect(same.status).toBe(400);
    expect(same.body.code).toBe('RERUN_OF_ITSELF');
    const bad = await api()
      .post(`${API}/reruns`)
      .send({ source_course_key: 'nope', course_key: 'course-v1:TestX+A+1' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_SCOPE');
  });
});
