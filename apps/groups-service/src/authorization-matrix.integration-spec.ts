import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { outsiderTokens, rejectedTokens, TokenMinter } from '@groups-sync/auth/testing';
import { expectEventually, httpRoutes, tableChecksums } from '@groups-sync/testing';
import { OperationsServer } from '@groups-sync/observability';
import { startGroupsApp } from './test/groups-app';

const API = '/api/user-groups/v1';
const COURSE = 'course-v1:MatrixOrg+Authz+2026';
/** What the relay renews on its own: not a change anyone's request made. */
const BOOKKEEPING_TABLES = ['outbox_relay_lease'];

/**
 * Reached without a token, on purpose: the load balancer's probes (a status, no details) and the CSRF
 * token a browser asks before a write (edx-drf-extensions' CsrfTokenView). /metrics and
 * /health/consumers are on the operations port (OPS_PORT), not here.
 */
const PUBLIC_ROUTES = ['GET /csrf/api/v1/token', 'GET /health/live', 'GET /health/ready'];
const OPERATIONS_ONLY = ['/metrics', '/health/consumers'];

/**
 * Who may do what, per route, for callers outside the group's course and organization:
 * `write` and `retirement`: nobody of them (403); `read`: only the read-only service client;
 * `filtered`: 200 for everyone, showing the group only to the read-only client; `catalogue`: 200
 * for any authenticated caller (criterion types, no group data).
 */
type Rule = 'write' | 'read' | 'filtered' | 'catalogue' | 'retirement';

interface Fixture {
  groupId: string;
  memberId: number;
}
interface Case {
  rule: Rule;
  request: (f: Fixture) => { path: string; body?: unknown; headers?: Record<string, string> };
  /** For `filtered` routes: whether the answer shows the group. */
  shows?: (body: any, f: Fixture) => boolean;
}

const CASES: Record<string, Case> = {
  'GET /api/user-groups/v1/groups': {
    rule: 'filtered',
    request: () => ({ path: `${API}/groups?page_size=100` }),
    shows: (body, f) => body.results.some((g: { id: string }) => g.id === f.groupId),
  },
  'POST /api/user-groups/v1/groups': {
    rule: 'write',
    request: () => ({
      path: `${API}/groups`,
      body: { scope_type: 'course', scope_key: COURSE, kind: 'manual', name: 'Made by an outsider' },
    }),
  },
  'GET /api/user-groups/v1/groups/:id': { rule: 'read', request: (f) => ({ path: `${API}/groups/${f.groupId}` }) },
  'PATCH /api/user-groups/v1/groups/:id': {
    rule: 'write',
    request: (f) => ({
      path: `${API}/groups/${f.groupId}`,
      body: { name: 'Renamed by an outsider' },
      headers: { 'If-Match': '"1"' },
    }),
  },
  'DELETE /api/user-groups/v1/groups/:id': { rule: 'write', request: (f) => ({ path: `${API}/groups/${f.groupId}` }) },
  'GET /api/user-groups/v1/groups/:id/history': {
    rule: 'read',
    request: (f) => ({ path: `${API}/groups/${f.groupId}/history` }),
  },
  'POST /api/user-groups/v1/groups/:id/refresh': {
    rule: 'write',
    request: (f) => ({ path: `${API}/groups/${f.groupId}/refresh` }),
  },
  'GET /api/user-groups/v1/groups/:id/sync-status': {
    rule: 'read',
    request: (f) => ({ path: `${API}/groups/${f.groupId}/sync-status` }),
  },
  'GET /api/user-groups/v1/groups/:id/members': {
    rule: 'read',
    request: (f) => ({ path: `${API}/groups/${f.groupId}/members` }),
  },
  'POST /api/user-groups/v1/groups/:id/members': {
    rule: 'write',
    request: (f) => ({ path: `${API}/groups/${f.groupId}/members`, body: { members: [{ user_id: f.memberId + 1 }] } }),
  },
  'POST /api/user-groups/v1/groups/:id/members/remove': {
    rule: 'write',
    request: (f) => ({
      path: `${API}/groups/${f.groupId}/members/remove`,
      body: { members: [{ user_id: f.memberId }] },
    }),
  },
  'POST /api/user-groups/v1/groups/:id/members/csv': {
    rule: 'write',
    request: (f) => ({
      path: `${API}/groups/${f.groupId}/members/csv`,
      body: 'username\nmatrix_other\n',
      headers: { 'Content-Type': 'text/csv' },
    }),
  },
  'GET /api/user-groups/v1/groups/:id/members/csv': {
    rule: 'read',
    request: (f) => ({ path: `${API}/groups/${f.groupId}/members/csv` }),
  },
  'DELETE /api/user-groups/v1/groups/:id/members/:userId': {
    rule: 'write',
    request: (f) => ({ path: `${API}/groups/${f.groupId}/members/${f.memberId}` }),
  },
  'GET /api/user-groups/v1/users/:userId/groups': {
    rule: 'filtered',
    request: (f) => ({ path: `${API}/users/${f.memberId}/groups` }),
    shows: (body, f) => body.results.some((g: { id: string }) => g.id === f.groupId),
  },
  'POST /api/user-groups/v1/memberships/search': {
    rule: 'filtered',
    request: (f) => ({ path: `${API}/memberships/search`, body: { group_ids: [f.groupId] } }),
    shows: (body, f) => body.group_ids.includes(f.groupId),
  },
  'GET /api/user-groups/v1/criterion-types': { rule: 'catalogue', request: () => ({ path: `${API}/criterion-types` }) },
  'POST /api/user-groups/v1/reruns': {
    rule: 'write',
    request: () => ({ path: `${API}/reruns`, body: { source_course_key: COURSE, course_key: `${COURSE}-rerun` } }),
  },
  'GET /api/user-groups/v1/me': { rule: 'catalogue', request: () => ({ path: `${API}/me?course_key=${COURSE}` }) },
  'POST /api/user-groups/v1/retire': {
    rule: 'retirement',
    request: (f) => ({ path: `${API}/retire`, body: { edx_lms_user_id: f.memberId } }),
  },
};

describe('groups-service: every endpoint against every caller who must be refused', () => {
  let app: INestApplication;
  let db: DataSource;
  let minter: TokenMinter;
  let stop: () => Promise<void>;
  let fixture: Fixture;
  let before: Record<string, string>;

  function send(route: string, token: string | null) {
    const [method] = route.split(' ');
    const { path, body, headers } = CASES[route].request(fixture);
    let req = request(app.getHttpServer())[method.toLowerCase() as 'get'](path);
    if (token) req = req.set('Authorization', `Bearer ${token}`);
    for (const [name, value] of Object.entries(headers ?? {})) req = req.set(name, value);
    return body === undefined ? req : req.send(body as object);
  }

  beforeAll(async () => {
    let staffToken: string;
    let lmsUsers: (usernames: string[]) => Promise<Array<{ user_id: number }>>;
    ({ app, dataSource: db, stop, minter, staffToken, lmsUsers } = await startGroupsApp(9));
    const [member] = await lmsUsers(['matrix_member']);
    const staff = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
    const group = await staff()
      .post(`${API}/groups`)
      .send({ scope_type: 'course', scope_key: COURSE, kind: 'manual', name: 'Matrix target' })
      .expect(201);
    await staff()
      .post(`${API}/groups/${group.body.id}/members`)
      .send({ members: [{ user_id: member.user_id }] })
      .expect(200);
    fixture = { groupId: group.body.id, memberId: member.user_id };
    await expectEventually(async () =>
      expect((await db.query('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL'))[0].n).toBe(0),
    );
    before = await tableChecksums(db, BOOKKEEPING_TABLES);
  }, 120_000);

  afterAll(() => stop());

  it('has a case for every route that is not public on purpose', () => {
    const routes = httpRoutes(app).map((r) => `${r.method} ${r.path}`);
    expect(routes.filter((r) => !PUBLIC_ROUTES.includes(r)).sort()).toEqual(Object.keys(CASES).sort());
    expect(routes).toEqual(expect.arrayContaining(PUBLIC_ROUTES));
  });

  it('serves the public routes without a token', async () => {
    for (const route of PUBLIC_ROUTES) {
      await expectEventually(async () =>
        expect({ route, status: (await request(app.getHttpServer()).get(route.split(' ')[1])).status }).toEqual({
          route,
          status: 200,
        }),
      );
    }
  });

  it('answers 404 on this port for /metrics and /health/consumers, which the operations port serves', async () => {
    for (const path of OPERATIONS_ONLY) {
      expect({ path, status: (await request(app.getHttpServer()).get(path)).status }).toEqual({ path, status: 404 });
      // /health/consumers answers 200 once the consumers have joined their groups.
      await expectEventually(async () =>
        expect({ path, status: (await request(app.get(OperationsServer).listener).get(path)).status }).toEqual({
          path,
          status: 200,
        }),
      );
    }
  });

  it('answers 401 to a missing, expired, foreign or forged token on every other route', async () => {
    const answers: string[] = [];
    for (const { problem, token } of await rejectedTokens(minter)) {
      for (const route of Object.keys(CASES)) {
        const res = await send(route, token);
        answers.push(`${route} with ${problem}: ${res.status} ${res.body?.code}`);
      }
    }
    expect(answers.filter((a) => !/: 401 AUTH_TOKEN_(MISSING|INVALID|EXPIRED)$/.test(a))).toEqual([]);
  });

  it('refuses outsiders with 403 where the rule says so, and shows them nothing of the group where it filters', async () => {
    const wrong: string[] = [];
    for (const [caller, token] of Object.entries(
      await outsiderTokens(minter, { foreignCourse: 'course-v1:OtherOrg+Other+2026', foreignOrg: 'OtherOrg' }),
    )) {
      const readOnly = caller === 'read-only service client';
      for (const [route, { rule, shows }] of Object.entries(CASES)) {
        const res = await send(route, token);
        const expected =
          rule === 'write' || rule === 'retirement' ? 403 : rule === 'read' ? (readOnly ? 200 : 403) : 200;
        if (res.status !== expected || (expected === 403 && res.body.code !== 'FORBIDDEN_SCOPE')) {
          wrong.push(`${route} as ${caller}: ${res.status} ${res.body?.code ?? ''}, expected ${expected}`);
        } else if (rule === 'filtered' && shows!(res.body, fixture) !== readOnly) {
          wrong.push(`${route} as ${caller}: ${readOnly ? 'hides' : 'shows'} the group`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('changed no row', async () => {
    expect(await tableChecksums(db, BOOKKEEPING_TABLES)).toEqual(before);
  });
});
