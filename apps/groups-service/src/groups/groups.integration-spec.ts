import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { CRITERION_TYPES, EventType, toAnnouncedType } from '@groups-sync/contracts';
import { TokenMinter, courseStaffClaims, serviceClaims } from '@groups-sync/auth/testing';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { inTransaction } from '@groups-sync/persistence';
import { http } from '@groups-sync/testing';
import { LegacyObservations } from '../legacy-commands/legacy-observations.applier';
import { SyncResults } from '../legacy-commands/sync-results.applier';
import { LmsUser, startGroupsApp } from '../test/groups-app';
import { CriterionCatalogue } from './criterion-catalogue';

const COURSE = 'course-v1:TestX+Groups+2026';
const API = '/api/user-groups/v1';

describe('groups-service on a real database', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let minter: TokenMinter;
  let staffToken: string;
  let lmsUsers: (usernames: string[]) => Promise<LmsUser[]>;
  /** One LMS account, as a member reference. */
  const user = async (username: string) => {
    const [u] = await lmsUsers([username]);
    return { user_id: u.user_id, username: u.username };
  };
  /** Requests as global staff unless a test says otherwise. */
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  let n = 0;
  const name = (base: string) => `${base} ${++n}`;

  beforeAll(async () => ({ app, dataSource: db, stop, minter, staffToken, lmsUsers } = await startGroupsApp()), 90_000);
  afterAll(() => stop());

  async function create(body: Record<string, unknown>) {
    return api()
      .post(`${API}/groups`)
      .send({ scope_type: 'course', scope_key: COURSE, kind: 'manual', name: name('G'), ...body });
  }
  const outboxCount = async (groupId: string, type?: EventType) =>
    Number(
      (
        await db.query(
          `SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = ?${type ? ' AND event_type = ?' : ''}`,
          type ? [groupId, type] : [groupId],
        )
      )[0].n,
    );

  describe('authentication and authorization', () => {
    it('answers 401 without a token and with a token from another issuer', async () => {
      const none = await request(app.getHttpServer()).get(`${API}/groups`);
      expect(none.status).toBe(401);
      expect(none.body.code).toBe('AUTH_TOKEN_MISSING');
      const stranger = await TokenMinter.create();
      const forged = await request(app.getHttpServer())
        .get(`${API}/groups`)
        .set('Authorization', `Bearer ${await stranger.mint(courseStaffClaims(COURSE))}`);
      expect(forged.status).toBe(401);
      expect(forged.body.code).toBe('AUTH_TOKEN_INVALID');
    });

    it('lets course staff manage their course only, and lists only what they may read', async () => {
      const other = 'course-v1:TestX+Other+2026';
      const theirs = (await create({})).body;
      const notTheirs = (await create({ scope_key: other })).body;
      const teacher = request
        .agent(app.getHttpServer())
        .set('Authorization', `JWT ${await minter.mint(courseStaffClaims(COURSE))}`);
      expect((await teacher.get(`${API}/groups/${theirs.id}`)).status).toBe(200);
      expect(
        (await teacher.post(`${API}/groups/${theirs.id}/members`).send({ members: [await user('eve')] })).status,
      ).toBe(200);
      const denied = await teacher.get(`${API}/groups/${notTheirs.id}`);
      expect(denied.status).toBe(403);
      expect(denied.body.code).toBe('FORBIDDEN_SCOPE');
      expect(
        (
          await teacher
            .post(`${API}/groups`)
            .send({ scope_type: 'course', scope_key: other, name: name('X'), kind: 'manual' })
        ).status,
      ).toBe(403);
      const listed = (await teacher.get(`${API}/groups?page_size=100`)).body.results.map(
        (g: { scope_key: string }) => g.scope_key,
      );
      expect(new Set(listed)).toEqual(new Set([COURSE]));
      const [audit] = await db.query(`SELECT actor FROM audit_event WHERE group_id = ? AND action = 'member_added'`, [
        theirs.id,
      ]);
      expect(audit.actor).toBe('teacher');
    });

    it('judges service tokens by their user_groups scopes', async () => {
      const { body: group } = await create({});
      const reader = request
        .agent(app.getHttpServer())
        .set('Authorization', `Bearer ${await minter.mint(serviceClaims(['user_groups:read']))}`);
      expect((await reader.get(`${API}/groups/${group.id}`)).status).toBe(200);
      expect((await reader.delete(`${API}/groups/${group.id}`)).status).toBe(403);
      const nobody = request
        .agent(app.getHttpServer())
        .set('Authorization', `Bearer ${await minter.mint(serviceClaims(['read']))}`);
      expect((await nobody.get(`${API}/groups/${group.id}`)).status).toBe(403);
    });
  });

  describe('scopes and kinds', () => {
    it.each([
      ['course', COURSE],
      ['course', 'TestX/Groups/2026'],
      ['org', 'TestX'],
      ['instance', undefined],
    ])('creates a %s-scoped group (%s)', async (scope_type, scope_key) => {
      const res = await create({ scope_type, scope_key });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ scope_type, scope_key: scope_key ?? '', kind: 'manual', version: 1 });
      expect(res.headers.etag).toBe('"1"');
    });

    it.each([
      ['course', 'course-v1:missing-parts', 'scope_key'],
      ['org', 'has spaces', 'scope_key'],
      ['instance', 'something', 'scope_key'],
    ])('refuses a %s scope key "%s", naming the field', async (scope_type, scope_key, field) => {
      const res = await create({ scope_type, scope_key });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'INVALID_SCOPE', details: { field } });
    });

    it('validates dynamic criteria against the catalogue and names the failing field', async () => {
      const ok = await create({
        kind: 'dynamic',
        criteria: [
          { type: 'enrollment_mode', operator: 'in', value: ['verified'] },
          { type: 'last_login', operator: '<=', value: 30 },
        ],
      });
      expect(ok.status).toBe(201);
      expect(ok.body).toMatchObject({ refresh_cadence_seconds: 6 * 3600, is_stale: true });
      const bad = await create({ kind: 'dynamic', criteria: [{ type: 'course_grade', operator: '>', value: 'lots' }] });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('INVALID_CRITERION');
      expect(bad.body.details.errors).toEqual([
        { field: 'criteria[0].value', message: expect.stringContaining('0 to 100') },
      ]);
      const tooMany = await create({ kind: 'dynamic', criteria: Array(4).fill({ type: 'is_staff', value: true }) });
      expect(tooMany.status).toBe(400);
    });

    it('refuses member writes to a dynamic group and to an enrollment-track group with 409', async () => {
      const dynamic = await create({ kind: 'dynamic', criteria: [{ type: 'is_staff', value: false }] });
      const track = await create({
        kind: 'legacy',
        criteria: [{ type: 'legacy_enrollment_track', config: { mode: 'verified' } }],
      });
      for (const id of [dynamic.body.id, track.body.id]) {
        const res = await api()
          .post(`${API}/groups/${id}/members`)
          .send({ members: [{ user_id: 1 }] });
        expect(res.status).toBe(409);
        expect(res.body.code).toBe('MEMBERS_READ_ONLY');
      }
    });
  });

  describe('criterion types', () => {
    it('lists each type with its operators, value schema and config schema, for a criteria form', async () => {
      const res = await api().get(`${API}/criterion-types`).expect(200);
      const byId = new Map(res.body.results.map((t: { id: string }) => [t.id, t]));
      expect(byId.get('last_login')).toMatchObject({
        scopes: ['course', 'org', 'instance'],
        operators: ['=', '!=', '>', '>=', '<', '<='],
        value_type: 'days',
        value_schema: { type: 'integer', minimum: 0 },
        backend: 'lms_db',
      });
      expect(byId.get('enrollment_mode')).toMatchObject({
        scopes: ['course'],
        value_schema: { type: 'string', enum: expect.arrayContaining(['verified', 'audit']) },
      });
      expect(byId.get('legacy_team')).toMatchObject({
        legacy_kind: 'team',
        value_schema: null,
        config_schema: {
          properties: { team_id: { type: 'string' }, teamset_id: { type: 'string' } },
          oneOf: [{ required: ['team_id'] }, { required: ['teamset_id'] }],
        },
      });
      await request(app.getHttpServer()).get(`${API}/criterion-types`).expect(401);
    });

    it("accepts the types the evaluator announced as installed, checks a plugin's values by its schema, and keeps the newest announcement", async () => {
      const catalogue = app.get(CriterionCatalogue);
      const builtIns = Object.values(CRITERION_TYPES)
        .filter((s) => !s.legacy && s.id !== 'language')
        .map(toAnnouncedType);
      const emailDomain = toAnnouncedType({
        id: 'email_domain',
        version: 1,
        description: 'Domain of the email',
        scopes: ['course', 'org', 'instance'],
        operators: ['=', 'in'],
        backend: 'lms_db',
        valueType: 'custom',
        valueSchema: {
          type: 'string',
          pattern: '^[a-z0-9.-]+\\.[a-z]{2,}$',
          description: 'a domain such as "example.org"',
        },
        defaultRefreshSeconds: 3600,
        staleOn: [],
      });
      const announce = (at: Date, types: typeof builtIns) =>
        db.transaction((m) =>
          catalogue.record(m, {
            source: 'evaluator-service',
            announced_at: at.toISOString(),
            types,
            load_errors: [{ module: 'broken-plugin', error: 'Cannot find module' }],
          }),
        );
      const now = Date.now();
      try {
        expect(
          (await create({ kind: 'dynamic', criteria: [{ type: 'email_domain', value: 'example.org' }] })).status,
        ).toBe(400); // not installed yet
        await announce(new Date(now), [...builtIns, emailDomain]);
        await announce(
          new Date(now - 60_000),
          Object.values(CRITERION_TYPES)
            .filter((s) => !s.legacy)
            .map(toAnnouncedType),
        ); // older: kept out
        expect(
          (await create({ kind: 'dynamic', criteria: [{ type: 'email_domain', value: 'example.org' }] })).status,
        ).toBe(201);
        expect(
          (
            await create({
              kind: 'dynamic',
              criteria: [{ type: 'email_domain', operator: 'in', value: ['example.org', 'edx.org'] }],
            })
          ).status,
        ).toBe(201);
        const bad = await create({
          kind: 'dynamic',
          criteria: [{ type: 'email_domain', operator: 'in', value: ['example.org', 'not a domain'] }],
        });
        expect(bad.status).toBe(400);
        expect(bad.body.details.errors).toEqual([
          { field: 'criteria[0].value[1]', message: 'expected a domain such as "example.org"' },
        ]);
        const gone = await create({ kind: 'dynamic', criteria: [{ type: 'language', value: 'es' }] });
        expect(gone.status).toBe(400);
        expect(gone.body.details.errors[0]).toMatchObject({
          field: 'criteria[0].type',
          message: expect.stringContaining('unknown criterion type'),
        });
        expect((await create({ kind: 'legacy', criteria: [{ type: 'legacy_cohort', config: {} }] })).status).toBe(201); // legacy links are not the evaluator's
        const listed = await api().get(`${API}/criterion-types`).expect(200);
        const ids = listed.body.results.map((t: { id: string }) => t.id);
        expect(ids).toContain('email_domain');
        expect(ids).not.toContain('language');
        expect(listed.body.results.find((t: { id: string }) => t.id === 'email_domain')).toMatchObject({
          value_type: 'custom',
          value_schema: { type: 'string', pattern: expect.any(String) },
        });
        expect(listed.body.plugin_load_errors).toEqual([{ module: 'broken-plugin', error: 'Cannot find module' }]);
      } finally {
        await db.query('DELETE FROM criterion_type_announcement');
      }
    });
  });

  describe('names', () => {
    it('are unique per scope, through the unique index, and freed by deletion', async () => {
      const taken = name('Unique');
      expect((await create({ name: taken })).status).toBe(201);
      const again = await create({ name: taken });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('GROUP_NAME_TAKEN');
      expect((await create({ name: taken, scope_type: 'org', scope_key: 'TestX' })).status).toBe(201);
      const group = (await api().get(`${API}/groups?name=${encodeURIComponent(taken)}&scope_type=course`)).body
        .results[0];
      expect((await api().delete(`${API}/groups/${group.id}`)).status).toBe(204);
      expect((await create({ name: taken })).status).toBe(201);
    });
  });

  describe('ids', () => {
    it('finds a group and its members by its id in any case (ids are stored in lower case and compared byte for byte)', async () => {
      const g = (await create({})).body;
      const u = await user('upper_case_id');
      expect(
        (
          await api()
            .post(`${API}/groups/${g.id.toUpperCase()}/members`)
            .send({ members: [u] })
        ).body.results[0].result,
      ).toBe('added');
      const read = await api().get(`${API}/groups/${g.id.toUpperCase()}`);
      expect([read.status, read.body.id]).toEqual([200, g.id]);
      expect(
        (await api().get(`${API}/groups/${g.id.toUpperCase()}/members`)).body.results.map(
          (m: { username: string }) => m.username,
        ),
      ).toEqual([u.username]);
      const search = await api()
        .post(`${API}/memberships/search`)
        .send({ group_ids: [g.id.toUpperCase()] });
      expect([search.body.group_ids, search.body.memberships.map((m: { username: string }) => m.username)]).toEqual([
        [g.id],
        [u.username],
      ]);
    });
  });

  describe('PATCH with If-Match', () => {
    it('needs the current version, bumps it, and publishes one update', async () => {
      const { body: group } = await create({});
      expect(
        (
          await api()
            .patch(`${API}/groups/${group.id}`)
            .send({ name: name('Renamed') })
        ).status,
      ).toBe(428);
      expect(
        (await api().patch(`${API}/groups/${group.id}`).set('If-Match', 'garbage').send({ name: 'x' })).status,
      ).toBe(400);
      const ok = await api()
        .patch(`${API}/groups/${group.id}`)
        .set('If-Match', '"1"')
        .send({ name: name('Renamed'), enabled: false });
      expect(ok.status).toBe(200);
      expect(ok.headers.etag).toBe('"2"');
      expect(ok.body).toMatchObject({ version: 2, enabled: false });
      const stale = await api().patch(`${API}/groups/${group.id}`).set('If-Match', '"1"').send({ description: 'late' });
      expect(stale.status).toBe(412);
      expect(stale.body).toMatchObject({ code: 'VERSION_MISMATCH', details: { current_version: 2 } });
      expect(await outboxCount(group.id, EventType.UserGroupUpdated)).toBe(1);
      const actions = (await api().get(`${API}/groups/${group.id}/history`)).body.results.map(
        (e: { action: string }) => e.action,
      );
      expect(actions).toEqual(expect.arrayContaining(['group_renamed', 'group_disabled', 'group_created']));
    });

    it('changes nothing and publishes nothing when nothing differs', async () => {
      const { body: group } = await create({ description: 'same' });
      const res = await api()
        .patch(`${API}/groups/${group.id}`)
        .set('If-Match', '"1"')
        .send({ description: 'same', name: group.name });
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe('"1"');
      expect(await outboxCount(group.id, EventType.UserGroupUpdated)).toBe(0);
    });

    it('lets no cache keep a group: its ETag (the version) stays while its link and members change', async () => {
      const { body: group } = await create({});
      const res = await api().get(`${API}/groups/${group.id}`);
      expect(res.headers.etag).toBe('"1"');
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('never changes the scope or the kind', async () => {
      const { body: group } = await create({});
      const scope = await api()
        .patch(`${API}/groups/${group.id}`)
        .set('If-Match', '"1"')
        .send({ scope_key: 'course-v1:Other+Course+Run' });
      expect(scope.body.code).toBe('SCOPE_IMMUTABLE');
      const kind = await api().patch(`${API}/groups/${group.id}`).set('If-Match', '"1"').send({ kind: 'dynamic' });
      expect(kind.body.code).toBe('KIND_IMMUTABLE');
    });

    it('lets exactly one of two concurrent PATCHes with the same ETag win', async () => {
      const { body: group } = await create({});
      const results = await Promise.all([
        api().patch(`${API}/groups/${group.id}`).set('If-Match', '"1"').send({ description: 'first' }),
        api().patch(`${API}/groups/${group.id}`).set('If-Match', '"1"').send({ description: 'second' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
      expect((await api().get(`${API}/groups/${group.id}`)).body.version).toBe(2);
    });
  });

  describe('refresh', () => {
    it('records who asked and publishes a request for the evaluator, for dynamic groups only', async () => {
      const { body: dynamic } = await create({ kind: 'dynamic', criteria: [{ type: 'is_staff', value: false }] });
      const res = await api().post(`${API}/groups/${dynamic.id}/refresh`);
      expect(res.status).toBe(202);
      const [audit] = await db.query(
        `SELECT actor, \`trigger\` FROM audit_event WHERE group_id = ? AND action = 'refresh_requested'`,
        [dynamic.id],
      );
      expect(audit).toEqual({ actor: 'staff', trigger: 'user' });
      expect(await outboxCount(dynamic.id, EventType.UserGroupRefreshRequested)).toBe(1);
      const { body: manual } = await create({});
      const refused = await api().post(`${API}/groups/${manual.id}/refresh`);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('GROUP_NOT_REFRESHABLE');
    });
  });

  describe('deletion', () => {
    it('refuses to delete a cohort-linked group unless asked to unlink, and records the unlink', async () => {
      const { body: group } = await create({
        kind: 'legacy',
        criteria: [{ type: 'legacy_cohort', config: { cohort_id: 77 } }],
      });
      const refused = await api().delete(`${API}/groups/${group.id}`);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('LEGACY_GROUP_NOT_DELETABLE');
      expect((await api().delete(`${API}/groups/${group.id}?unlink=true`)).status).toBe(204);
      expect((await api().get(`${API}/groups/${group.id}`)).status).toBe(404);
      const [audit] = await db.query(
        `SELECT details FROM audit_event WHERE group_id = ? AND action = 'group_deleted'`,
        [group.id],
      );
      expect(JSON.parse(audit.details)).toMatchObject({ unlinked: true, legacy: 'cohort' });
      expect(await outboxCount(group.id, EventType.UserGroupDeleted)).toBe(1);
    });
  });

  describe('listing', () => {
    it('filters and paginates like DRF', async () => {
      const org = `Org${n}`;
      for (let i = 0; i < 5; i++) await create({ scope_type: 'org', scope_key: org, name: `Listed ${i}` });
      const first = await api().get(`${API}/groups?scope_type=org&scope_key=${org}&page_size=2`);
      expect(first.body).toMatchObject({ count: 5, num_pages: 3, current_page: 1, previous: null });
      expect(first.body.results).toHaveLength(2);
      expect(first.body.next).toContain('page=2');
      const filtered = await api().get(`${API}/groups?scope_key=${org}&name=listed%203`);
      expect(filtered.body.results.map((g: { name: string }) => g.name)).toEqual(['Listed 3']);
      expect((await api().get(`${API}/groups?scope_key=${org}&page=9`)).status).toBe(404);
      expect((await api().get(`${API}/groups?stale=maybe`)).status).toBe(400);
    });
  });

  describe('memberships', () => {
    it('makes one membership from two concurrent adds of the same user', async () => {
      const { body: group } = await create({});
      const u501 = await user('u501');
      const adds = await Promise.all(
        [1, 2].map(() =>
          api()
            .post(`${API}/groups/${group.id}/members`)
            .send({ members: [u501] }),
        ),
      );
      expect(adds.map((r) => r.body.results[0].result).sort()).toEqual(['added', 'already_member']);
      const [{ c }] = await db.query('SELECT COUNT(*) AS c FROM membership WHERE group_id = ?', [group.id]);
      expect(Number(c)).toBe(1);
    });

    it('leaves a user in exactly one group of a collection under concurrent adds', async () => {
      const collection = name('Tracks');
      const groups = await Promise.all([1, 2, 3].map(() => create({ collection })));
      const u777 = await user('u777');
      const adds = await Promise.all(
        groups.map((g) =>
          api()
            .post(`${API}/groups/${g.body.id}/members`)
            .send({ members: [u777] }),
        ),
      );
      expect(adds.every((r) => r.status === 200)).toBe(true);
      const active = await db.query(
        'SELECT group_id FROM membership WHERE user_id = ? AND active = 1 AND group_id IN (?)',
        [u777.user_id, groups.map((g) => g.body.id)],
      );
      expect(active).toHaveLength(1);
    });

    it('keeps history on removal and reactivates on re-add', async () => {
      const { body: group } = await create({});
      const members = `${API}/groups/${group.id}/members`;
      const [nine, ten, eleven] = await lmsUsers(['nine', 'ten', 'eleven']);
      await api()
        .post(members)
        .send({ members: [{ username: 'nine' }, { user_id: ten.user_id }] });
      const removed = await api()
        .post(`${members}/remove`)
        .send({ members: [{ user_id: nine.user_id }, { username: 'eleven' }] });
      expect(removed.body.results).toEqual([
        { user_id: nine.user_id, username: 'nine', result: 'removed' },
        { user_id: eleven.user_id, username: 'eleven', result: 'not_member' },
      ]);
      expect((await api().get(members)).body.results.map((m: { user_id: number }) => m.user_id)).toEqual([ten.user_id]);
      const all = (await api().get(`${members}?status=all`)).body.results;
      expect(all.find((m: { user_id: number }) => m.user_id === nine.user_id)).toMatchObject({
        active: false,
        left_at: expect.any(String),
      });
      await api()
        .post(members)
        .send({ members: [{ email: nine.email }] });
      const [{ c }] = await db.query('SELECT COUNT(*) AS c FROM membership WHERE group_id = ? AND user_id = ?', [
        group.id,
        nine.user_id,
      ]);
      expect(Number(c)).toBe(1);
      expect((await api().get(members)).body.count).toBe(2);
      expect((await api().get(`${API}/groups/${group.id}`)).body).toMatchObject({
        member_count: 2,
        members: [{ username: 'nine' }, { username: 'ten' }],
      });
    });

    const cohortGroup = async (cohortId: number) =>
      (await create({ kind: 'legacy', criteria: [{ type: 'legacy_cohort', config: { cohort_id: cohortId } }] })).body;
    const activeGroups = async (userId: number) =>
      (await db.query('SELECT group_id FROM membership WHERE user_id = ? AND active = 1', [userId])).map(
        (r: { group_id: string }) => r.group_id,
      );
    /** An LMS observation (legacy-sync's forward of COHORT_MEMBERSHIP_CHANGED) at an LMS time. */
    const observe = (
      u: { user_id: number; username: string },
      groupId: string,
      lmsTime: Date,
      echoOfChangeAt: string | null = null,
    ) =>
      inTransaction(db, async (manager) => {
        const [outcome] = await app.get(LegacyObservations).apply(manager, [
          {
            data: {
              group_id: groupId,
              course_key: COURSE,
              user_id: u.user_id,
              username: u.username,
              action: 'added',
              observed_at: lmsTime.toISOString(),
              source_event_id: `e-${lmsTime.getTime()}`,
              echo_of_change_at: echoOfChangeAt,
            },
            observedAt: lmsTime,
            ctx: { actor: 'lms', trigger: 'legacy', origin: 'legacy', at: new Date() },
          },
        ]);
        return outcome;
      });

    /** groups-service's time of a membership's latest change (what sync results and echoes name). */
    const changedAt = async (groupId: string, userId: number): Promise<Date> =>
      (await db.query('SELECT changed_at FROM membership WHERE group_id = ? AND user_id = ?', [groupId, userId]))[0]
        .changed_at;
    /** legacy-sync's answer to our change of a membership, as it would come from Kafka. */
    const answer = (
      groupId: string,
      userId: number,
      changeAt: Date,
      result: { status: 'synced' | 'rejected'; error?: string; echoExpected?: boolean },
    ) =>
      inTransaction(db, (manager) =>
        app.get(SyncResults).apply(manager, [
          {
            data: {
              group_id: groupId,
              user_id: userId,
              status: result.status,
              error: result.error ?? null,
              legacy_type: 'cohort',
              legacy_id: '1',
              occurred_at: new Date().toISOString(),
              change_occurred_at: changeAt.toISOString(),
              lms_echo_expected: result.echoExpected ?? true,
            },
            ctx: { actor: 'legacy-sync-service', trigger: 'legacy', origin: 'legacy', at: new Date() },
          },
        ]),
      );

    it("applies an enrollment event's two changes to two track groups of a course in one batch: out of one track, into the other", async () => {
      const track = async (mode: string) =>
        (await create({ kind: 'legacy', criteria: [{ type: 'legacy_enrollment_track', config: { mode } }] })).body;
      const [verified, audit] = [await track('verified'), await track('audit')];
      const [learner] = await lmsUsers(['track_mover']);
      const batch = (entries: Array<[string, 'added' | 'removed']>, at: Date) =>
        inTransaction(db, (manager) =>
          app.get(LegacyObservations).apply(
            manager,
            entries.map(([groupId, action], i) => ({
              data: {
                group_id: groupId,
                course_key: COURSE,
                user_id: learner.user_id,
                username: learner.username,
                action,
                observed_at: at.toISOString(),
                source_event_id: `track-${at.getTime()}-${i}`,
                echo_of_change_at: null,
              },
              observedAt: at,
              ctx: { actor: 'lms', trigger: 'legacy' as const, origin: 'legacy' as const, at: new Date() },
            })),
          ),
        );
      const t = Date.now();
      expect(
        await batch(
          [
            [verified.id, 'added'],
            [audit.id, 'removed'],
          ],
          new Date(t),
        ),
      ).toEqual(['applied', 'unchanged']);
      expect(await activeGroups(learner.user_id)).toEqual([verified.id]);
      // A mode change to audit: one event, two observations, both stand (tracks are not an exclusive set in groups-service).
      expect(
        await batch(
          [
            [verified.id, 'removed'],
            [audit.id, 'added'],
          ],
          new Date(t + 1000),
        ),
      ).toEqual(['applied', 'applied']);
      expect(await activeGroups(learner.user_id)).toEqual([audit.id]);
      // The same event again, and the older one redelivered: nothing moves.
      expect(
        await batch(
          [
            [verified.id, 'removed'],
            [audit.id, 'added'],
          ],
          new Date(t + 1000),
        ),
      ).toEqual(['stale', 'stale']);
      expect(
        await batch(
          [
            [verified.id, 'added'],
            [audit.id, 'removed'],
          ],
          new Date(t),
        ),
      ).toEqual(['stale', 'stale']);
      expect(await activeGroups(learner.user_id)).toEqual([audit.id]);
    });

    it("drops an LMS observation no newer, on the LMS's clock, than the last one applied for the learner in the course", async () => {
      const [a, b] = [await cohortGroup(11), await cohortGroup(12)];
      const late = await user('late');
      const t = Date.parse('2026-01-01T10:00:00Z'); // the LMS's clock, however far from ours

      expect(await observe(late, b.id, new Date(t))).toBe('applied');
      expect(await activeGroups(late.user_id)).toEqual([b.id]);
      expect(await observe(late, a.id, new Date(t - 1000))).toBe('stale'); // an older LMS change, delivered late
      expect(await activeGroups(late.user_id)).toEqual([b.id]);
      expect(await observe(late, a.id, new Date(t + 1000))).toBe('applied');
      expect(await activeGroups(late.user_id)).toEqual([a.id]);
      expect(await observe(late, a.id, new Date(t + 1000))).toBe('stale'); // the same again
    });

    it("supersedes an LMS observation of another cohort while our own add is in flight, until the add's echo confirms it", async () => {
      const [a, b] = [await cohortGroup(13), await cohortGroup(14)];
      const mover = await user('mover');
      await api()
        .post(`${API}/groups/${a.id}/members`)
        .send({ members: [mover] });
      const t = Date.parse('2026-01-01T11:00:00Z');

      // The LMS moved the learner to b before our add reached it: our add will move them back.
      expect(await observe(mover, b.id, new Date(t))).toBe('superseded');
      expect(await activeGroups(mover.user_id)).toEqual([a.id]);
      // The echo of our add: the LMS has the learner where we put them.
      expect(await observe(mover, a.id, new Date(t + 1))).toBe('confirmed');
      const [row] = await db.query('SELECT sync_state FROM membership WHERE group_id = ? AND user_id = ?', [
        a.id,
        mover.user_id,
      ]);
      expect(row.sync_state).toBe('synced');
      // A later move in the LMS wins: the LMS is where the learner's cohort takes effect.
      expect(await observe(mover, b.id, new Date(t + 2))).toBe('applied');
      expect(await activeGroups(mover.user_id)).toEqual([b.id]);
    });

    it('drops the late echo of an add the membership has moved past: a learner added then removed through the API stays out', async () => {
      const group = await cohortGroup(15);
      const u = await user('echo_late');
      await api()
        .post(`${API}/groups/${group.id}/members`)
        .send({ members: [u] });
      const addedAt = await changedAt(group.id, u.user_id);
      await api()
        .post(`${API}/groups/${group.id}/members/remove`)
        .send({ members: [{ user_id: u.user_id }] });
      // The removal's answer came first (another partition); then the LMS's echo of the add.
      await db.query(`UPDATE membership SET sync_state = 'synced' WHERE group_id = ? AND user_id = ?`, [
        group.id,
        u.user_id,
      ]);
      expect(await observe(u, group.id, new Date('2026-01-01T12:00:00Z'), addedAt.toISOString())).toBe('stale');
      expect(await activeGroups(u.user_id)).toEqual([]);
      // An LMS change of its own (no echo) still applies.
      expect(await observe(u, group.id, new Date('2026-01-01T12:00:01Z'))).toBe('applied');
      expect(await activeGroups(u.user_id)).toEqual([group.id]);
    });

    it('applies the echo of our add after an older LMS move that came in between: the LMS did our add last', async () => {
      const [a, b] = [await cohortGroup(18), await cohortGroup(19)];
      const u = await user('echo_after_move');
      await api()
        .post(`${API}/groups/${a.id}/members`)
        .send({ members: [u] });
      const addedAt = await changedAt(a.id, u.user_id);
      // The add's answer came first, then an LMS move made before our add reached the LMS, then the echo.
      await db.query(`UPDATE membership SET sync_state = 'synced' WHERE group_id = ? AND user_id = ?`, [
        a.id,
        u.user_id,
      ]);
      expect(await observe(u, b.id, new Date('2026-01-01T14:00:00Z'))).toBe('applied');
      expect(await observe(u, a.id, new Date('2026-01-01T14:00:01Z'), addedAt.toISOString())).toBe('applied');
      expect(await activeGroups(u.user_id)).toEqual([a.id]);
    });

    it('applies an LMS move it set aside once our add turns out to have changed nothing in the LMS (no echo to come)', async () => {
      const [a, b] = [await cohortGroup(16), await cohortGroup(17)];
      const [x, y] = [await user('present_x'), await user('present_y')];
      for (const u of [x, y])
        await api()
          .post(`${API}/groups/${a.id}/members`)
          .send({ members: [u] });
      const t = Date.parse('2026-01-01T13:00:00Z');
      for (const u of [x, y]) expect(await observe(u, b.id, new Date(t))).toBe('superseded');
      // x was in the cohort already ("present"): the LMS move to b came after our add.
      await answer(a.id, x.user_id, await changedAt(a.id, x.user_id), { status: 'synced', echoExpected: false });
      expect(await activeGroups(x.user_id)).toEqual([b.id]);
      // y's add moved y in the LMS: its echo will come after the move we set aside, which it overrides.
      await answer(a.id, y.user_id, await changedAt(a.id, y.user_id), { status: 'synced', echoExpected: true });
      expect(await activeGroups(y.user_id)).toEqual([a.id]);
    });

    it('keeps our add when the LMS put the learner back in its cohort after the move it set aside (a stale echo says so)', async () => {
      const [a, b] = [await cohortGroup(20), await cohortGroup(21)];
      const u = await user('back_again');
      await api()
        .post(`${API}/groups/${a.id}/members`)
        .send({ members: [u] });
      const t = Date.parse('2026-01-01T15:00:00Z');
      expect(await observe(u, b.id, new Date(t))).toBe('superseded');
      // The echo of an earlier write of ours into a: the LMS moved the learner back there after b.
      expect(await observe(u, a.id, new Date(t + 1), '2020-01-01T00:00:00.000Z')).toBe('stale');
      // So our add found the learner there already ("present"): nothing to apply from b.
      await answer(a.id, u.user_id, await changedAt(a.id, u.user_id), { status: 'synced', echoExpected: false });
      expect(await activeGroups(u.user_id)).toEqual([a.id]);
    });

    it("ignores a sync result that answers an older change than the membership's latest", async () => {
      const group = await cohortGroup(31);
      const u = await user('answered');
      await api()
        .post(`${API}/groups/${group.id}/members`)
        .send({ members: [u] });
      const addedAt = await changedAt(group.id, u.user_id);
      await api()
        .post(`${API}/groups/${group.id}/members/remove`)
        .send({ members: [{ user_id: u.user_id }] });
      await api()
        .post(`${API}/groups/${group.id}/members`)
        .send({ members: [u] });
      const refused = (changeAt: Date) =>
        answer(group.id, u.user_id, changeAt, { status: 'rejected', error: 'LMS does not know user' });
      const state = async () =>
        (
          await db.query('SELECT active, sync_state, changed_at FROM membership WHERE group_id = ? AND user_id = ?', [
            group.id,
            u.user_id,
          ])
        )[0];

      await refused(addedAt); // the first add's answer, late: the re-add is newer
      expect(await state()).toMatchObject({ active: 1, sync_state: 'pending' });
      await refused((await state()).changed_at); // the re-add's own answer applies
      expect(await state()).toMatchObject({ active: 0, sync_state: 'rejected' });
    });

    it("applies a reconciliation's finding as origin reconciliation, and drops one dated before a change of ours it could not see", async () => {
      const group = await cohortGroup(31);
      const [gone, back] = [await user('recon_gone'), await user('recon_back')];
      await api()
        .post(`${API}/groups/${group.id}/members`)
        .send({ members: [gone] });
      await answer(group.id, gone.user_id, await changedAt(group.id, gone.user_id), { status: 'synced' });
      const reconcile = (u: { user_id: number; username: string }, action: 'added' | 'removed', readAt: Date) =>
        inTransaction(db, async (manager) => {
          const [outcome] = await app.get(LegacyObservations).apply(manager, [
            {
              data: {
                group_id: group.id,
                course_key: COURSE,
                user_id: u.user_id,
                username: u.username,
                action,
                observed_at: readAt.toISOString(),
                source_event_id: 'reconciliation:r1',
                echo_of_change_at: null,
                reconciliation_run_id: 'r1',
              },
              observedAt: readAt,
              ctx: {
                actor: 'legacy-sync-service',
                trigger: 'reconciliation',
                origin: 'reconciliation',
                at: new Date(),
              },
            },
          ]);
          return outcome;
        });

      // The LMS read before our add: what it saw (no learner) must not undo the add.
      const readBefore = new Date(Date.now() - 60_000);
      await api()
        .post(`${API}/groups/${group.id}/members`)
        .send({ members: [back] });
      expect(await reconcile(back, 'removed', readBefore)).toBe('stale');
      expect(await activeGroups(back.user_id)).toEqual([group.id]);

      // Read after our last change: the LMS no longer has the learner, the group follows.
      const removalEvents = await outboxCount(group.id, EventType.UserGroupMembershipChanged);
      expect(await reconcile(gone, 'removed', new Date())).toBe('applied');
      expect(await activeGroups(gone.user_id)).toEqual([]);
      const [row] = await db.query('SELECT origin, sync_state FROM membership WHERE group_id = ? AND user_id = ?', [
        group.id,
        gone.user_id,
      ]);
      expect(row).toEqual({ origin: 'reconciliation', sync_state: 'synced' }); // nothing to send back to the LMS
      const [event] = await db.query(
        `SELECT payload FROM outbox WHERE aggregate_id = ? AND event_type = ? ORDER BY id DESC LIMIT 1`,
        [group.id, EventType.UserGroupMembershipChanged],
      );
      expect(await outboxCount(group.id, EventType.UserGroupMembershipChanged)).toBe(removalEvents + 1);
      expect((typeof event.payload === 'string' ? JSON.parse(event.payload) : event.payload).membership).toMatchObject({
        action: 'removed',
        origin: 'reconciliation',
      });
    });

    it('answers the memberships of many groups with their sync state, for callers that may read them', async () => {
      const [a, b] = [await cohortGroup(32), (await create({})).body];
      const [m1, m2] = [await user('search_one'), await user('search_two')];
      await api()
        .post(`${API}/groups/${a.id}/members`)
        .send({ members: [m1, m2] });
      await api()
        .post(`${API}/groups/${a.id}/members/remove`)
        .send({ members: [{ user_id: m2.user_id }] });
      const missing = '00000000-0000-4000-8000-000000000000';
      const res = await api()
        .post(`${API}/memberships/search`)
        .send({ group_ids: [a.id, b.id, missing] })
        .expect(200);
      expect(res.body.missing_group_ids).toEqual([missing]);
      const rows = res.body.memberships.filter((m: { group_id: string }) => m.group_id === a.id);
      expect(rows).toHaveLength(2);
      expect(rows.find((m: { user_id: number }) => m.user_id === m1.user_id)).toEqual({
        group_id: a.id,
        user_id: m1.user_id,
        username: 'search_one',
        active: true,
        origin: 'api',
        sync_state: 'pending',
        changed_at: expect.any(String),
        legacy_observed_at: null,
      });
      expect(rows.find((m: { user_id: number }) => m.user_id === m2.user_id)).toMatchObject({
        active: false,
        sync_state: 'pending',
      });
      // Staff of another course may not read these groups: they come back as missing.
      const other = await minter.mint(courseStaffClaims('course-v1:Other+X+1'));
      const denied = await request(app.getHttpServer())
        .post(`${API}/memberships/search`)
        .set('Authorization', `Bearer ${other}`)
        .send({ group_ids: [a.id] })
        .expect(200);
      expect(denied.body).toMatchObject({ group_ids: [], missing_group_ids: [a.id], memberships: [] });
      await api()
        .post(`${API}/memberships/search`)
        .send({ group_ids: ['not-a-uuid'] })
        .expect(400);
    });

    it('answers no 5xx to 40 concurrent bulk adds of 100 members into 5 groups of one collection, and leaves each user in one group', async () => {
      const collection = name('Sections');
      const groups = await Promise.all([0, 1, 2, 3, 4].map(() => create({ collection })));
      const pool = await lmsUsers(Array.from({ length: 300 }, (_, i) => `busy_${i}`));
      const members = pool.map((u) => ({ user_id: u.user_id, username: u.username }));
      let seed = 7;
      const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      // A real listening server, so the 40 requests really are concurrent connections.
      const server = app.getHttpServer().listening
        ? app.getHttpServer()
        : await new Promise<Server>((r) => {
            const s = app.getHttpServer().listen(0, '127.0.0.1', () => r(s));
          });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${API}`;
      const adds = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const start = Math.floor(random() * 200);
          return http(
            'POST',
            `${base}/groups/${groups[i % 5].body.id}/members`,
            { members: members.slice(start, start + 100) },
            { authorization: `Bearer ${staffToken}` },
          );
        }),
      );
      expect(adds.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
      const [{ n }] = await db.query(
        'SELECT COUNT(*) AS n FROM (SELECT user_id FROM membership WHERE active = 1 AND group_id IN (?) GROUP BY user_id HAVING COUNT(*) > 1) twice',
        [groups.map((g) => g.body.id)],
      );
      expect(Number(n)).toBe(0);
    });

    it('takes API adds and LMS observations into the cohort-linked groups of one course side by side, without a failed transaction', async () => {
      const groups = await Promise.all([41, 42, 43].map((id) => cohortGroup(id)));
      const pool = (await lmsUsers(Array.from({ length: 120 }, (_, i) => `mixed_${i}`))).map((u) => ({
        user_id: u.user_id,
        username: u.username,
      }));
      const t = Date.now();
      const work = Array.from({ length: 30 }, (_, i) =>
        i % 2
          ? api()
              .post(`${API}/groups/${groups[i % 3].id}/members`)
              .send({ members: pool.slice(i, i + 60) })
              .then((r) => r.status)
          : inTransaction(db, (manager) =>
              app.get(LegacyObservations).apply(
                manager,
                pool.slice(i, i + 60).map((u, k) => ({
                  data: {
                    group_id: groups[(i + k) % 3].id,
                    course_key: COURSE,
                    user_id: u.user_id,
                    username: u.username,
                    action: 'added' as const,
                    observed_at: '',
                    source_event_id: `m-${i}-${k}`,
                  },
                  observedAt: new Date(t + i * 1000 + k),
                  ctx: { actor: 'lms', trigger: 'legacy' as const, origin: 'legacy' as const, at: new Date() },
                })),
              ),
            ).then(() => 200),
      );
      expect((await Promise.all(work)).filter((s) => s !== 200)).toEqual([]);
      const [{ n }] = await db.query(
        'SELECT COUNT(*) AS n FROM (SELECT user_id FROM membership WHERE active = 1 AND group_id IN (?) GROUP BY user_id HAVING COUNT(*) > 1) twice',
        [groups.map((g) => g.id)],
      );
      expect(Number(n)).toBe(0);
    });

    it('answers every group a user is in, across scopes', async () => {
      const a = await create({});
      const b = await create({ scope_type: 'instance' });
      const x = await user('x4242');
      for (const g of [a, b])
        await api()
          .post(`${API}/groups/${g.body.id}/members`)
          .send({ members: [x] });
      const all = await api().get(`${API}/users/${x.user_id}/groups`);
      expect(all.body.results.map((g: { id: string }) => g.id).sort()).toEqual([a.body.id, b.body.id].sort());
      const course = await api().get(`${API}/users/${x.user_id}/groups?scope=course`);
      expect(course.body.results.map((g: { id: string }) => g.id)).toEqual([a.body.id]);
    });

    it('reports pending, synced and rejected counts for a cohort-linked group', async () => {
      const { body: group } = await create({
        kind: 'legacy',
        criteria: [{ type: 'legacy_cohort', config: { cohort_id: 5 } }],
      });
      const [a, b] = await lmsUsers(['sync_a', 'sync_b']);
      await api()
        .post(`${API}/groups/${group.id}/members`)
        .send({ members: [a, b] });
      await db.query(
        `UPDATE membership SET sync_state = 'rejected', sync_error = 'unknown user' WHERE group_id = ? AND user_id = ?`,
        [group.id, b.user_id],
      );
      const status = await api().get(`${API}/groups/${group.id}/sync-status`);
      expect(status.body).toMatchObject({
        pending: 1,
        synced: 0,
        rejected: 1,
        last_error: { user_id: b.user_id, error: 'unknown user' },
      });
    });
  });
});
