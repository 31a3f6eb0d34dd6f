import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { EventType } from '@groups-sync/contracts';
import { TokenMinter, lmsUserClaims, serviceClaims } from '@groups-sync/auth/testing';
import { rowsContaining, uniqueSuffix } from '@groups-sync/testing';
import { EvaluationRuns } from '../evaluations/evaluation-runs.service';
import { LegacyObservations } from '../legacy-commands/legacy-observations.applier';
import { SyncResults } from '../legacy-commands/sync-results.applier';
import { GroupsApp, LmsUser, startGroupsApp } from '../test/groups-app';

const COURSE = 'course-v1:TestX+Retire+2026';
const API = '/api/user-groups/v1';
const WORKER = 'retirement_service_worker';

describe('user retirement (Open edX retirement pipeline)', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let minter: TokenMinter;
  let staffToken: string;
  let lmsUsers: GroupsApp['lmsUsers'];
  let retiree: LmsUser;
  let bystander: LmsUser;
  let workerToken: string;
  const suffix = uniqueSuffix();
  const as = (token: string) => request.agent(app.getHttpServer()).set('Authorization', `JWT ${token}`);
  const api = () => as(staffToken);
  let n = 0;
  const create = async (body: Record<string, unknown>, token = staffToken) =>
    (
      await as(token)
        .post(`${API}/groups?evaluate=false`)
        .send({ scope_type: 'course', scope_key: COURSE, kind: 'manual', name: `Retire ${++n}`, ...body })
        .expect(201)
    ).body as { id: string };
  const outboxRemovals = async (groupId: string) =>
    Number(
      (
        await db.query(
          'SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = ? AND event_type = ? AND payload LIKE ?',
          [groupId, EventType.UserGroupMembershipChanged, '%"removed"%'],
        )
      )[0].n,
    );
  const count = async (table: string) => Number((await db.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

  beforeAll(async () => {
    ({ app, dataSource: db, stop, minter, staffToken, lmsUsers } = await startGroupsApp(8));
    [retiree, bystander] = await lmsUsers([`Retiree_${suffix}`, `bystander_${suffix}`]);
    // The pipeline's client_credentials token: its service user's name in preferred_username.
    workerToken = await minter.mint(serviceClaims([], { preferred_username: WORKER }));
  }, 90_000);
  afterAll(() => stop());

  describe('who may call it', () => {
    it('answers 401 without a token and 403 to anyone but the retirement service worker', async () => {
      const body = { edx_lms_user_id: bystander.user_id };
      await request(app.getHttpServer()).post(`${API}/retire`).send(body).expect(401);
      const others = [
        staffToken,
        await minter.mint(serviceClaims(['user_groups:write'])),
        await minter.mint(
          serviceClaims([], { preferred_username: WORKER, is_restricted: true, filters: ['content_org:TestX'] }),
        ),
        await minter.mint(lmsUserClaims({ preferred_username: `${WORKER}_2` })),
      ];
      for (const token of others) {
        const res = await as(token).post(`${API}/retire`).send(body);
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('FORBIDDEN_SCOPE');
      }
    });

    it('needs one user id, as the pipeline sends it', async () => {
      expect((await as(workerToken).post(`${API}/retire`).send({})).status).toBe(400);
      expect((await as(workerToken).post(`${API}/retire`).send({ edx_lms_user_id: 1, lms_user_id: 2 })).status).toBe(
        400,
      );
      expect((await as(workerToken).post(`${API}/retire`).send({ username: 'x' })).status).toBe(400);
    });
  });

  it('removes the user from every group and leaves their username and email in no row, then answers the same again', async () => {
    // The retiree: a member by username (the directory caches their email), of a cohort-linked group
    // too, refused once by the LMS, in a pending evaluation chunk, and a course staff member who made a group.
    const plain = await create({});
    const cohort = await create({ kind: 'legacy', criteria: [{ type: 'legacy_cohort', config: { cohort_id: 901 } }] });
    // Another course: one cohort per learner and course.
    const refusedIn = await create({
      scope_key: 'course-v1:TestX+Retire+2027',
      kind: 'legacy',
      criteria: [{ type: 'legacy_cohort', config: { cohort_id: 902 } }],
    });
    const dynamic = await create({ kind: 'dynamic', criteria: [{ type: 'is_staff', value: false }] });
    await api()
      .post(`${API}/groups/${plain.id}/members`)
      .send({ members: [{ username: retiree.username }, { email: bystander.email }] })
      .expect(200);
    await api()
      .post(`${API}/groups/${cohort.id}/members`)
      .send({ members: [{ user_id: retiree.user_id }] })
      .expect(200);
    await api()
      .post(`${API}/groups/${refusedIn.id}/members`)
      .send({ members: [{ user_id: retiree.user_id }] })
      .expect(200);
    const ctx = { actor: 'legacy-sync-service', trigger: 'legacy' as const, origin: 'legacy' as const, at: new Date() };
    await db.transaction((m) =>
      app.get(SyncResults).apply(m, [
        {
          ctx,
          data: {
            group_id: refusedIn.id,
            user_id: retiree.user_id,
            status: 'rejected',
            error: `LMS does not know user "${retiree.username}"`,
            legacy_type: 'cohort',
            legacy_id: '902',
            occurred_at: new Date().toISOString(),
            change_occurred_at: null,
          },
        },
      ]),
    );
    await db.transaction((m) =>
      app.get(EvaluationRuns).receive(
        m,
        {
          snapshot: {
            run_id: `run-${suffix}`,
            group_id: dynamic.id,
            chunk: 0,
            chunks: 2,
            members: [{ user_id: retiree.user_id, username: retiree.username }],
            trigger: 'user',
            requested_by: retiree.username,
            evaluated_at: new Date().toISOString(),
          },
        },
        { ...ctx, origin: 'criteria', trigger: 'event' },
      ),
    );
    const asStaff = await minter.mint(
      lmsUserClaims({
        preferred_username: retiree.username,
        user_id: retiree.user_id,
        roles: [`course_staff:${COURSE}`],
      }),
    );
    const theirs = await create({}, asStaff);
    await as(asStaff)
      .post(`${API}/groups/${theirs.id}/members`)
      .send({ members: [{ user_id: bystander.user_id }] })
      .expect(200);
    await as(asStaff).patch(`${API}/groups/${plain.id}`).set('If-Match', '"1"').send({ frozen: true }).expect(200); // updated_by, and an event's changed_by
    expect(Object.keys(await rowsContaining(db, retiree.username)).sort()).toEqual([
      'audit_event',
      'evaluation_chunk',
      'membership',
      'outbox',
      'user_account',
      'user_group',
    ]);

    await as(workerToken).post(`${API}/retire/`).send({ edx_lms_user_id: retiree.user_id }).expect(204);

    const rows: Array<{ group_id: string; active: number; username: string; sync_state: string | null }> =
      await db.query('SELECT group_id, active, username, sync_state FROM membership WHERE user_id = ?', [
        retiree.user_id,
      ]);
    expect(rows.map((r) => r.group_id).sort()).toEqual([plain.id, cohort.id, refusedIn.id].sort());
    expect(rows.every((r) => !r.active && r.username === `retired__user_${retiree.user_id}`)).toBe(true);
    // The LMS retires its side itself: nothing is pending towards it.
    expect(rows.find((r) => r.group_id === cohort.id)?.sync_state).toBe('synced');
    const removals = (
      await db.query(`SELECT payload FROM outbox WHERE event_type = ? ORDER BY id`, [
        EventType.UserGroupMembershipChanged,
      ])
    )
      .map(
        (r: { payload: string | object }) =>
          (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload).membership,
      )
      .filter((m: { user_id: number; origin: string }) => m.user_id === retiree.user_id && m.origin === 'retirement');
    expect(removals.map((m: { group_id: string }) => m.group_id).sort()).toEqual([plain.id, cohort.id].sort());
    expect(
      removals.every(
        (m: { action: string; username: string }) =>
          m.action === 'removed' && m.username === `retired__user_${retiree.user_id}`,
      ),
    ).toBe(true);

    expect(await rowsContaining(db, retiree.username)).toEqual({});
    expect(await rowsContaining(db, retiree.email)).toEqual({});
    // Nobody else's rows changed: the bystander is still named, and still a member.
    expect(Object.keys(await rowsContaining(db, bystander.username))).toEqual(
      expect.arrayContaining(['membership', 'user_account', 'outbox']),
    );
    expect((await api().get(`${API}/groups/${theirs.id}`).expect(200)).body.created_by).toBe(
      `retired__user_${retiree.user_id}`,
    );

    const before = { audit: await count('audit_event'), outbox: await count('outbox') };
    await as(workerToken).post(`${API}/retire`).send({ edx_lms_user_id: retiree.user_id }).expect(204);
    expect({ audit: await count('audit_event'), outbox: await count('outbox') }).toEqual(before);
  });

  it('keeps a retired user out of every group afterwards', async () => {
    const [gone] = await lmsUsers([`gone_${suffix}`]);
    const group = await create({});
    await as(workerToken)
      .post(`${API}/retire`)
      .send({ lms_user_id: gone.user_id, original_username: gone.username })
      .expect(204);
    const res = await api()
      .post(`${API}/groups/${group.id}/members`)
      .send({ members: [{ user_id: gone.user_id }, { username: gone.username }] })
      .expect(200);
    expect(res.body.results.map((r: { result: string; reason?: string }) => [r.result, r.reason])).toEqual([
      ['refused', 'this account was retired'],
      ['refused', 'this account was retired'],
    ]);
    // Nor through the LMS: an observation that still names them (the LMS renames its account last) adds nothing.
    const cohort = await create({ kind: 'legacy', criteria: [{ type: 'legacy_cohort', config: { cohort_id: 903 } }] });
    await db.transaction((m) =>
      app.get(LegacyObservations).apply(m, [
        {
          data: {
            group_id: cohort.id,
            course_key: COURSE,
            user_id: gone.user_id,
            username: gone.username,
            action: 'added',
            observed_at: new Date().toISOString(),
            source_event_id: `o-${suffix}`,
          },
          observedAt: new Date(),
          ctx: { actor: 'legacy-sync-service', trigger: 'legacy', origin: 'legacy', at: new Date() },
        },
      ]),
    );
    expect(await db.query('SELECT id FROM membership WHERE user_id = ?', [gone.user_id])).toEqual([]);
    expect(await rowsContaining(db, gone.username)).toEqual({});
  });

  it('waits for a writer that added the user before the retirement began, and takes them out of that group too', async () => {
    const [late] = await lmsUsers([`late_${suffix}`]);
    const group = await create({});
    // A writer (an API add, an evaluation run) that checked the user was not retired and added them, not yet committed.
    const writer = db.createQueryRunner();
    await writer.connect();
    await writer.startTransaction('READ COMMITTED');
    try {
      await writer.query(
        `INSERT INTO membership (group_id, user_id, username, active, joined_at, origin, changed_at) VALUES (?, ?, ?, 1, NOW(6), 'api', NOW(6))`,
        [group.id, late.user_id, late.username],
      );
      let retired = false;
      const retiring = as(workerToken)
        .post(`${API}/retire`)
        .send({ edx_lms_user_id: late.user_id, original_username: late.username })
        .then((res) => {
          retired = true;
          return res;
        });
      await new Promise((r) => setTimeout(r, 500));
      expect(retired).toBe(false);
      await writer.commitTransaction();
      expect((await retiring).status).toBe(204);
    } finally {
      if (writer.isTransactionActive) await writer.rollbackTransaction();
      await writer.release();
    }
    expect(await db.query('SELECT active FROM membership WHERE user_id = ?', [late.user_id])).toEqual([{ active: 0 }]);
    // Removed as a member of a live group is: in its history, and published for legacy-sync.
    expect(
      await db.query('SELECT action, details FROM audit_event WHERE group_id = ? AND user_id = ?', [
        group.id,
        late.user_id,
      ]),
    ).toEqual([{ action: 'member_removed', details: expect.stringContaining('"origin":"retirement"') }]);
    expect(await outboxRemovals(group.id)).toBe(1);
    expect(await rowsContaining(db, late.username)).toEqual({});
  });
});
