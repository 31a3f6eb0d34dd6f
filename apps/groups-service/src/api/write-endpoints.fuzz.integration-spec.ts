import { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { GroupsApp, startGroupsApp } from '../test/groups-app';

const API = '/api/user-groups/v1';
const COURSE = 'course-v1:FuzzX+Fuzz+2026';
const RUNS_PER_ENDPOINT = 200; // 7 endpoints: 1,400 requests

/** Strings people and attackers actually send. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ minLength: 5000, maxLength: 20_000 }),
  fc.constantFrom(
    "'; DROP TABLE user_group; --",
    '" OR "1"="1',
    '\\u0000',
    '\u0000',
    '%',
    '_',
    '\\',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    '{"$gt": ""}',
    '__proto__',
    'constructor',
    'course-v1:',
    'course-v1:A+B',
    'A/B',
    'course-v1:A+B+C+D',
    ' ',
    '',
    '🙂'.repeat(300),
    'NaN',
    'Infinity',
    '-1',
    '1e309',
    '9007199254740993',
    'W/"1"',
    '"1',
    '*',
    'null',
  ),
);
const anyJson = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  nasty,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const record = (shape: Record<string, fc.Arbitrary<unknown>>) => fc.record(shape, { requiredKeys: [] });
const criterion = record({
  type: fc.oneof(nasty, fc.constantFrom('legacy_cohort', 'is_staff', 'course_grade', 'country')),
  operator: fc.oneof(nasty, fc.constantFrom('=', 'in', '>')),
  value: anyJson,
  config: anyJson,
});
const groupBody = fc.oneof(
  anyJson,
  record({
    scope_type: fc.oneof(nasty, fc.constantFrom('course', 'org', 'instance')),
    scope_key: fc.oneof(nasty, fc.constant(COURSE)),
    name: anyJson,
    description: anyJson,
    kind: fc.oneof(nasty, fc.constantFrom('manual', 'dynamic', 'legacy')),
    criteria: fc.oneof(anyJson, fc.array(criterion, { maxLength: 5 })),
    enabled: anyJson,
    collection: anyJson,
    refresh_cadence_seconds: anyJson,
    __proto__: anyJson,
    constructor: anyJson,
    extra: anyJson,
  }),
);
const memberBody = fc.oneof(
  anyJson,
  record({
    members: fc.oneof(
      anyJson,
      fc.array(record({ user_id: anyJson, username: anyJson, email: anyJson, extra: anyJson }), { maxLength: 5 }),
    ),
  }),
);
/** CSV files: random text, and near-misses of a good one (wrong headers, quotes left open, odd rows). */
const csvText = fc.oneof(
  fc.string({ maxLength: 2000 }),
  fc.string({ unit: 'binary', maxLength: 500 }),
  fc
    .tuple(
      fc.constantFrom('username', 'email', 'Username,Email', 'user', '"username', 'username,cohort', ''),
      fc.array(fc.oneof(nasty, fc.constantFrom('ana', '"ana', 'a,b,c', 'ana@example.com', '=cmd()')), {
        maxLength: 20,
      }),
    )
    .map(([header, rows]) => [header, ...rows].join('\n')),
);
const etag = fc.oneof(nasty, fc.constantFrom('"1"', '"999"', 'W/"1"', '1'));

describe('write endpoints under random and malformed input', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let groupId: string;
  let staffToken: string;
  let lmsUsers: GroupsApp['lmsUsers'];
  // As global staff, so requests reach validation rather than stop at authorization.
  const server = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);

  beforeAll(async () => {
    ({ app, dataSource: db, stop, staffToken, lmsUsers } = await startGroupsApp());
    const res = await server()
      .post(`${API}/groups`)
      .send({
        scope_type: 'course',
        scope_key: COURSE,
        name: 'Target',
        kind: 'legacy',
        criteria: [{ type: 'legacy_cohort', config: { cohort_id: 3 } }],
      });
    groupId = res.body.id;
    const [ana] = await lmsUsers(['ana']);
    await server()
      .post(`${API}/groups/${groupId}/members`)
      .send({ members: [{ user_id: ana.user_id, username: 'ana' }] });
  }, 90_000);
  afterAll(() => stop());

  /** Everything a refused request must leave as it was. */
  async function fingerprint(): Promise<string> {
    const [row] = await db.query(`SELECT
      (SELECT COUNT(*) FROM user_group) AS groups_, (SELECT COALESCE(SUM(version), 0) FROM user_group) AS versions,
      (SELECT COUNT(*) FROM user_group WHERE deleted_at IS NOT NULL) AS deleted, (SELECT COUNT(*) FROM membership) AS memberships,
      (SELECT COALESCE(SUM(active), 0) FROM membership) AS active, (SELECT COUNT(*) FROM criterion) AS criteria,
      (SELECT COUNT(*) FROM audit_event) AS audit, (SELECT COUNT(*) FROM outbox) AS outbox`);
    return JSON.stringify(row);
  }

  const statuses: number[] = [];
  async function check(send: () => request.Test): Promise<void> {
    const before = await fingerprint();
    const res = await send();
    statuses.push(res.status);
    if (res.status >= 500) throw new Error(`${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    if (res.status >= 400) {
      expect(res.body).toEqual({ code: expect.any(String), message: expect.any(String), details: expect.any(Object) });
      expect(await fingerprint()).toBe(before);
    }
  }

  /** The payload as JSON text, whatever its type, so the server sees exactly those bytes. */
  const json = (body: unknown) => JSON.stringify(body) ?? 'null';
  const path = fc.oneof(
    fc.constant(() => groupId),
    fc.constant(() => 'not-a-uuid'),
    fc.constant(() => '00000000-0000-4000-8000-000000000000'),
  );

  it('POST /groups never answers 5xx and refused payloads change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(groupBody, (body) => check(() => server().post(`${API}/groups`).type('json').send(json(body)))),
      { numRuns: RUNS_PER_ENDPOINT },
    );
  });

  it('PATCH /groups/{id} with random bodies and ETags never answers 5xx and refused ones change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(path, groupBody, etag, (id, body, tag) =>
        check(() =>
          server()
            .patch(`${API}/groups/${id()}`)
            .set('If-Match', tag.replace(/[^\x20-\x7e]/g, '?').slice(0, 200))
            .type('json')
            .send(json(body)),
        ),
      ),
      { numRuns: RUNS_PER_ENDPOINT },
    );
  });

  it('DELETE /groups/{id} with random unlink values never answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(path, nasty, (id, unlink) =>
        check(() =>
          server()
            .delete(`${API}/groups/${id()}?unlink=${encodeURIComponent(unlink.slice(0, 100))}`)
            .query(unlink === 'true' ? {} : {}),
        ),
      ),
      { numRuns: RUNS_PER_ENDPOINT },
    );
    expect((await server().get(`${API}/groups/${groupId}`)).status).toBe(200); // only unlink=true deletes a cohort-linked group
  });

  it('POST /groups/{id}/members never answers 5xx and refused payloads change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(path, memberBody, (id, body) =>
        check(() => server().post(`${API}/groups/${id()}/members`).type('json').send(json(body))),
      ),
      { numRuns: RUNS_PER_ENDPOINT },
    );
  });

  it('POST /groups/{id}/members/remove never answers 5xx and refused payloads change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(path, memberBody, (id, body) =>
        check(() => server().post(`${API}/groups/${id()}/members/remove`).type('json').send(json(body))),
      ),
      { numRuns: RUNS_PER_ENDPOINT },
    );
  });

  it('POST /groups/{id}/members/csv with random files never answers 5xx and refused files change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(path, csvText, fc.boolean(), (id, text, multipart) =>
        check(() => {
          const req = server().post(`${API}/groups/${id()}/members/csv`);
          return multipart
            ? req.attach('file', Buffer.from(text), 'members.csv')
            : req.set('content-type', 'text/csv').send(text);
        }),
      ),
      { numRuns: RUNS_PER_ENDPOINT },
    );
  });

  it('DELETE /groups/{id}/members/{user} and raw malformed JSON never answer 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(path, nasty, (id, user) =>
        check(() => server().delete(`${API}/groups/${id()}/members/${encodeURIComponent(user.slice(0, 200)) || 'x'}`)),
      ),
      { numRuns: RUNS_PER_ENDPOINT / 2 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), (raw) =>
        check(() => server().post(`${API}/groups`).set('content-type', 'application/json').send(`{${raw}`)),
      ),
      { numRuns: RUNS_PER_ENDPOINT / 2 },
    );
    expect(statuses.length).toBeGreaterThanOrEqual(1400);
    expect(statuses.filter((s) => s >= 400 && s < 500).length).toBeGreaterThan(1000);
  });
});
