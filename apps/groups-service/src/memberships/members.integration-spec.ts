import { INestApplication } from '@nestjs/common';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { GroupsApp, LmsUser, startGroupsApp } from '../test/groups-app';

const COURSE = 'course-v1:TestX+Members+2026';
const API = '/api/user-groups/v1';

/** supertest leaves text/csv bodies unread: collect them as text. */
function asText(res: request.Response, done: (error: Error | null, body: unknown) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.on('end', () => done(null, text));
}

describe('members by id, username, email and CSV, resolved through the LMS accounts API', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let staffToken: string;
  let lms: GroupsApp['lms'];
  let ana: LmsUser, ben: LmsUser, cleo: LmsUser, dash: LmsUser;
  let lmsUsers: GroupsApp['lmsUsers'];
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  let n = 0;
  const group = async (body: Record<string, unknown> = {}) =>
    (
      await api()
        .post(`${API}/groups`)
        .send({ scope_type: 'course', scope_key: COURSE, kind: 'manual', name: `Members ${++n}`, ...body })
    ).body as { id: string };

  beforeAll(async () => {
    ({ app, dataSource: db, stop, staffToken, lmsUsers, lms } = await startGroupsApp(5));
    [ana, ben, cleo, dash] = await lmsUsers(['ana', 'ben', 'cleo', '-dash']);
  }, 90_000);
  afterAll(() => stop());

  it('adds by user id, username or email, matching case-insensitively, and reports unknown and refused users', async () => {
    const g = await group();
    const res = await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({
        members: [
          { user_id: ana.user_id },
          { username: 'BEN' },
          { email: cleo.email.toUpperCase() },
          { username: 'nobody_here' },
          { email: 'ghost@example.com' },
          { user_id: ana.user_id, username: 'ben' },
          { username: 'ana' },
        ],
      });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { user_id: ana.user_id, username: 'ana', result: 'added' },
      { user_id: ben.user_id, username: 'ben', result: 'added' },
      { user_id: cleo.user_id, username: 'cleo', email: cleo.email.toUpperCase(), result: 'added' },
      { user_id: null, username: 'nobody_here', result: 'unknown' },
      { user_id: null, username: null, email: 'ghost@example.com', result: 'unknown' },
      {
        user_id: ana.user_id,
        username: 'ben',
        result: 'refused',
        reason: expect.stringContaining('do not name the same account'),
      },
      { user_id: ana.user_id, username: 'ana', result: 'added' }, // the same user twice in one request: one membership
    ]);
    const rows = await db.query(
      'SELECT user_id, username, origin FROM membership WHERE group_id = ? ORDER BY user_id',
      [g.id],
    );
    expect(rows.map((r: { user_id: string }) => Number(r.user_id))).toEqual([ana.user_id, ben.user_id, cleo.user_id]);
    const again = await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{ username: 'ana' }] });
    expect(again.body.results).toEqual([{ user_id: ana.user_id, username: 'ana', result: 'already_member' }]);
  });

  it("shows a large group's first 100 members and its member count in the detail", async () => {
    const g = await group();
    const many = await lmsUsers(Array.from({ length: 101 }, (_, i) => `many_${i}`));
    expect(
      (
        await api()
          .post(`${API}/groups/${g.id}/members`)
          .send({ members: many.map((u) => ({ username: u.username })) })
      ).status,
    ).toBe(200);
    const detail = (await api().get(`${API}/groups/${g.id}`)).body;
    expect(detail.member_count).toBe(101);
    expect(detail.members.map((m: { user_id: number }) => m.user_id)).toEqual(
      many
        .map((u) => u.user_id)
        .sort((a, b) => a - b)
        .slice(0, 100),
    );
  });

  it('answers 413, not 500, to a body over the limit', async () => {
    const g = await group();
    const res = await api()
      .post(`${API}/groups/${g.id}/members`)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ members: [{ username: 'x'.repeat(6 * 1024 * 1024) }] }));
    expect([res.status, res.body.code]).toEqual([413, 'ENTITY_TOO_LARGE']);
  });

  it('refuses a member entry that names nobody, or has unknown fields, with field errors', async () => {
    const g = await group();
    const empty = await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{}] });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toContain('each member needs a user_id, a username or an email');
    const extra = await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{ username: 'ana', role: 'admin' }] });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toContain('role should not exist');
  });

  it('removes by username or email and says which users were unknown', async () => {
    const g = await group();
    await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{ username: 'ana' }, { username: 'ben' }] });
    const res = await api()
      .post(`${API}/groups/${g.id}/members/remove`)
      .send({
        members: [{ username: 'ana' }, { email: ben.email }, { username: 'cleo' }, { username: 'zed_unknown' }],
      });
    expect(res.body.results.map((r: { result: string }) => r.result)).toEqual([
      'removed',
      'removed',
      'not_member',
      'unknown',
    ]);
  });

  it('imports a CSV upload with a per-row report, origin csv and audit rows', async () => {
    const g = await group();
    await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{ username: 'ben' }] });
    const csv = `\uFEFFUsername,Email,Cohort\r\nana,,A\r\nben,,A\r\n,${cleo.email},A\r\nnot_a_user,,A\r\n,,A\r\nbad name,,A\r\nana,${ben.email},A\r\n'-dash,,A\r\n`;
    const res = await api().post(`${API}/groups/${g.id}/members/csv`).attach('file', Buffer.from(csv), 'members.csv');
    expect(res.status).toBe(200);
    expect(res.body.summary).toEqual({ rows: 8, added: 3, already_member: 1, unknown: 1, refused: 3 });
    expect(res.body.results.map((r: { row: number; result: string }) => [r.row, r.result])).toEqual([
      [2, 'added'],
      [3, 'already_member'],
      [4, 'added'],
      [5, 'unknown'],
      [6, 'refused'],
      [7, 'refused'],
      [8, 'refused'],
      [9, 'added'],
    ]);
    expect(res.body.results[4].reason).toBe('the row has neither a username nor an email');
    expect(res.body.results[5].reason).toContain('username may contain');
    expect(res.body.results[8 - 1]).toMatchObject({ username: '-dash', user_id: dash.user_id });
    const origins = await db.query(
      'SELECT origin, COUNT(*) AS n FROM membership WHERE group_id = ? GROUP BY origin ORDER BY origin',
      [g.id],
    );
    expect(origins.map((r: { origin: string; n: string }) => [r.origin, Number(r.n)])).toEqual([
      ['api', 1],
      ['csv', 3],
    ]);
    const [audit] = await db.query(
      `SELECT COUNT(*) AS n FROM audit_event WHERE group_id = ? AND action = 'member_added' AND JSON_VALUE(details, '$.origin') = 'csv'`,
      [g.id],
    );
    expect(Number(audit.n)).toBe(3);
  });

  it('previews an import with dry_run=true: the same report, no change', async () => {
    const g = await group();
    await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{ username: 'ben' }] });
    const csv = 'username\nana\nben\nnot_a_user\n';
    const preview = await api()
      .post(`${API}/groups/${g.id}/members/csv?dry_run=true`)
      .set('content-type', 'text/csv')
      .send(csv);
    expect(preview.body).toMatchObject({
      dry_run: true,
      summary: { rows: 3, added: 1, already_member: 1, unknown: 1, refused: 0 },
    });
    expect((await api().get(`${API}/groups/${g.id}/members`)).body.count).toBe(1);
    const [audit] = await db.query(
      `SELECT COUNT(*) AS n FROM audit_event WHERE group_id = ? AND action = 'member_added'`,
      [g.id],
    );
    expect(Number(audit.n)).toBe(1);
    const real = await api().post(`${API}/groups/${g.id}/members/csv`).set('content-type', 'text/csv').send(csv);
    expect(real.body).toEqual({ ...preview.body, dry_run: false });
    expect((await api().get(`${API}/groups/${g.id}/members`)).body.count).toBe(2);
    expect(
      (await api().post(`${API}/groups/${g.id}/members/csv?dry_run=maybe`).set('content-type', 'text/csv').send(csv))
        .status,
    ).toBe(400);
  });

  it('imports a text/csv body too, and refuses files that are not member lists as a whole', async () => {
    const g = await group();
    const ok = await api()
      .post(`${API}/groups/${g.id}/members/csv`)
      .set('content-type', 'text/csv')
      .send('email\n' + ana.email + '\n');
    expect(ok.body.summary).toMatchObject({ rows: 1, added: 1 });
    const cases: Array<[string, string]> = [
      ['name,cohort\nana,A\n', 'CSV_COLUMNS_MISSING'],
      ['', 'CSV_EMPTY'],
      ['username\n"ana\n', 'CSV_INVALID'],
    ];
    for (const [body, code] of cases) {
      const res = await api().post(`${API}/groups/${g.id}/members/csv`).set('content-type', 'text/csv').send(body);
      expect([res.status, res.body.code]).toEqual([400, code]);
    }
    const json = await api().post(`${API}/groups/${g.id}/members/csv`).send({ username: 'ana' });
    expect([json.status, json.body.code]).toEqual([400, 'CSV_REQUIRED']);
    expect((await api().get(`${API}/groups/${g.id}/members`)).body.count).toBe(1);
  });

  it('exports members as CSV that imports back, with formula-like cells defused', async () => {
    const g = await group();
    await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{ username: 'ana' }, { username: '-dash' }, { username: 'ben' }] });
    await api()
      .post(`${API}/groups/${g.id}/members/remove`)
      .send({ members: [{ username: 'ben' }] });
    const res = await api().get(`${API}/groups/${g.id}/members/csv`).buffer(true).parse(asText);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="Members_\d+-members.csv"/);
    const rows = parse(res.body as string, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => [r.user_id, r.username, r.email, r.origin])).toEqual(
      [
        [String(ana.user_id), 'ana', ana.email, 'api'],
        [String(dash.user_id), "'-dash", `'${dash.email}`, 'api'],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );
    const all = parse(
      (await api().get(`${API}/groups/${g.id}/members/csv?status=all`).buffer(true).parse(asText)).body as string,
      { columns: true },
    ) as Array<Record<string, string>>;
    expect(all.find((r) => r.username === 'ben')).toMatchObject({
      active: 'false',
      left_at: expect.stringMatching(/^\d{4}-/),
    });

    const copy = await group();
    const imported = await api()
      .post(`${API}/groups/${copy.id}/members/csv`)
      .attach('file', Buffer.from(res.body as string), 'export.csv');
    expect(imported.body.summary).toMatchObject({ rows: 2, added: 2 });
  });

  it('answers 503 when the LMS cannot resolve new users, and adds nobody', async () => {
    const g = await group();
    await lms.stop();
    try {
      const res = await api()
        .post(`${API}/groups/${g.id}/members`)
        .send({ members: [{ username: 'never_seen' }] });
      expect([res.status, res.body.code]).toEqual([503, 'USER_DIRECTORY_UNAVAILABLE']);
      // Accounts resolved before are still known without the LMS.
      const cached = await api()
        .post(`${API}/groups/${g.id}/members`)
        .send({ members: [{ username: 'ana' }] });
      expect(cached.body.results).toEqual([{ user_id: ana.user_id, username: 'ana', result: 'added' }]);
    } finally {
      await lms.start();
    }
    expect((await api().get(`${API}/groups/${g.id}/members`)).body.count).toBe(1);
  });
});
