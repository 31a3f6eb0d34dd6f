import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { JwksServer, outsiderTokens, rejectedTokens, TokenMinter } from '@groups-sync/auth/testing';
import { startEventConsumers } from '@groups-sync/messaging';
import { configureHttp } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { expectEventually, freePort, httpRoutes, stackEnv, tableChecksums, uniqueSuffix } from '@groups-sync/testing';

const API = '/api/legacy-sync/v1';
const COURSE = 'course-v1:MatrixOrg+Authz+2026';
/** What the relay renews on its own: not a change anyone's request made. */
const BOOKKEEPING_TABLES = ['outbox_relay_lease'];

/**
 * Reached without a token, on purpose: the load balancer's probes (a status, no details) and the CSRF
 * token a browser asks before a write (edx-drf-extensions' CsrfTokenView). /metrics and
 * /health/consumers are on the operations port (OPS_PORT), not here.
 */
const PUBLIC_ROUTES = ['GET /csrf/api/v1/token', 'GET /health/live', 'GET /health/ready'];

interface Fixture {
  runId: string;
}
/** Every route here is the operators' (global staff, or a service client with user_groups:write) or the retirement pipeline's. */
const CASES: Record<string, (f: Fixture) => { path: string; body?: unknown }> = {
  'POST /api/legacy-sync/v1/reconciliations': () => ({ path: `${API}/reconciliations`, body: { course_key: COURSE } }),
  'GET /api/legacy-sync/v1/reconciliations': () => ({ path: `${API}/reconciliations` }),
  'GET /api/legacy-sync/v1/reconciliations/:id': (f) => ({ path: `${API}/reconciliations/${f.runId}` }),
  'GET /api/legacy-sync/v1/dead-letters': () => ({ path: `${API}/dead-letters` }),
  'GET /api/legacy-sync/v1/dead-letters/:id': () => ({ path: `${API}/dead-letters/some-topic.dead-letter:0:0` }),
  'POST /api/legacy-sync/v1/dead-letters/replays': () => ({ path: `${API}/dead-letters/replays`, body: {} }),
  'POST /api/legacy-sync/v1/dead-letters/resolutions': () => ({
    path: `${API}/dead-letters/resolutions`,
    body: { note: 'by an outsider' },
  }),
  'GET /api/legacy-sync/v1/lms-writes/pauses': () => ({ path: `${API}/lms-writes/pauses` }),
  'POST /api/legacy-sync/v1/lms-writes/pause': () => ({
    path: `${API}/lms-writes/pause`,
    body: { course_key: 'course-v1:MatrixOrg+Other+2026' },
  }),
  'POST /api/legacy-sync/v1/lms-writes/resume': () => ({ path: `${API}/lms-writes/resume`, body: {} }),
  'GET /api/legacy-sync/v1/status': () => ({ path: `${API}/status` }),
  'POST /api/legacy-sync/v1/retire': () => ({ path: `${API}/retire`, body: { edx_lms_user_id: 5 } }),
};

describe('legacy-sync-service: every endpoint against every caller who must be refused', () => {
  const database = `legacy_authz_${uniqueSuffix()}_test`;
  let app: INestApplication;
  let db: DataSource;
  let minter: TokenMinter;
  let jwks: JwksServer;
  let fixture: Fixture;
  let before: Record<string, string>;

  function send(route: string, token: string | null) {
    const [method] = route.split(' ');
    const { path, body } = CASES[route](fixture);
    let req = request(app.getHttpServer())[method.toLowerCase() as 'get'](path);
    if (token) req = req.set('Authorization', `Bearer ${token}`);
    return body === undefined ? req : req.send(body as object);
  }

  beforeAll(async () => {
    // Verified through a key set, as in production (groups-service's matrix uses a PEM key).
    minter = await TokenMinter.create();
    jwks = await JwksServer.start(minter.jwks);
    // Config is read when app.module loads: the environment is set first. Nothing here calls the LMS or groups-service.
    Object.assign(process.env, stackEnv(), {
      DB_NAME: database,
      EVENT_BUS_TOPIC_PREFIX: `it-${uniqueSuffix()}`,
      LOG_LEVEL: 'error',
      RECONCILE_EVERY_MINUTES: '0',
      RECONCILE_TEAMS_EVERY_SECONDS: '0',
      LMS_BASE_URL: `http://127.0.0.1:${await freePort()}`,
      GROUPS_SERVICE_URL: `http://127.0.0.1:${await freePort()}`,
      JWT_JWKS_URL: jwks.url,
      JWT_ISSUER: minter.issuer,
      JWT_AUDIENCE: minter.audience,
    });
    delete process.env.JWT_PUBLIC_KEY;
    const { AppModule } = await import('./app.module');
    app = await NestFactory.create(AppModule, { logger: ['error'] });
    configureHttp(app);
    await app.init();
    await startEventConsumers(app);
    db = app.get(DataSource);
    // Rows an outsider's request could change: a pause, a run.
    await db.query(`INSERT INTO lms_write_pause (course_key, paused_by) VALUES (?, 'operator')`, [COURSE]);
    await db.query(
      `INSERT INTO reconciliation_run (id, scope_type, scope_key, dry_run, trigger_kind, requested_by, status) VALUES (UUID(), 'course', ?, 0, 'api', 'operator', 'succeeded')`,
      [COURSE],
    );
    fixture = { runId: (await db.query('SELECT id FROM reconciliation_run'))[0].id };
    before = await tableChecksums(db, BOOKKEEPING_TABLES);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await jwks?.close();
    await dropDatabase(stackEnv().MYSQL_URL, database);
  }, 60_000);

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

  it('answers 403 on every route to a learner, staff of another course, a restricted application of another org and a read-only service client', async () => {
    const wrong: string[] = [];
    for (const [caller, token] of Object.entries(
      await outsiderTokens(minter, { foreignCourse: 'course-v1:OtherOrg+Other+2026', foreignOrg: 'OtherOrg' }),
    )) {
      for (const route of Object.keys(CASES)) {
        const res = await send(route, token);
        if (res.status !== 403 || res.body.code !== 'FORBIDDEN_SCOPE')
          wrong.push(`${route} as ${caller}: ${res.status} ${res.body?.code ?? ''}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('changed no row', async () => {
    expect(await tableChecksums(db, BOOKKEEPING_TABLES)).toEqual(before);
  });
});
