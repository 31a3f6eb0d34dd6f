import { INestApplication } from '@nestjs/common';
import { createServer, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { courseStaffClaims, lmsUserClaims, TokenMinter, serviceClaims } from '@groups-sync/auth/testing';
import { GroupsApp, startGroupsApp } from '../test/groups-app';

const API = '/api/user-groups/v1';
/** What the test app's PUBLIC_BASE_URL is set to (startGroupsApp). */
const PUBLIC_BASE_URL = 'https://groups.example.org/prefix';

describe('headers and token claims a caller controls', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let minter: TokenMinter;
  let staffToken: string;
  let lmsUsers: GroupsApp['lmsUsers'];
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  let n = 0;
  const create = async (scope_key: string, scope_type = 'course') =>
    (
      await api()
        .post(`${API}/groups`)
        .send({ scope_type, scope_key, kind: 'manual', name: `Untrusted ${++n}` })
        .expect(201)
    ).body as { id: string };

  beforeAll(async () => {
    process.env.PUBLIC_BASE_URL = PUBLIC_BASE_URL;
    ({ app, dataSource: db, stop, minter, staffToken, lmsUsers } = await startGroupsApp(6));
  }, 90_000);
  afterAll(async () => {
    delete process.env.PUBLIC_BASE_URL;
    await stop();
  });

  describe("a restricted application's content_org filter", () => {
    it('matches its organization literally: "_" and "%" in an org are no wildcards', async () => {
      const theirs = [
        await create('course-v1:Org_1+Course+2026'),
        await create('Org_1/Old/2013'),
        await create('Org_1', 'org'),
      ];
      const others = [
        await create('course-v1:OrgX1+Course+2026'),
        await create('OrgY1/Course/2026'),
        await create('OrgZ1', 'org'),
      ];
      const restricted = (org: string) =>
        minter.mint(serviceClaims(['user_groups:read'], { is_restricted: true, filters: [`content_org:${org}`] }));
      const listed = async (org: string) =>
        (
          await request(app.getHttpServer())
            .get(`${API}/groups?page_size=100`)
            .set('Authorization', `Bearer ${await restricted(org)}`)
            .expect(200)
        ).body.results.map((g: { id: string }) => g.id);
      expect(new Set(await listed('Org_1'))).toEqual(new Set(theirs.map((g) => g.id)));
      expect(await listed('Org%')).toEqual([]);
      expect(await listed('%')).toEqual([]);
      expect(await listed('OrgX1')).toEqual([others[0].id]);
    });
  });

  describe('X-Correlation-Id', () => {
    it('keeps an id of up to 64 visible characters, stored with the change it caused', async () => {
      const id = `c-${'x'.repeat(62)}`;
      const res = await api()
        .post(`${API}/groups`)
        .set('X-Correlation-Id', id)
        .send({ scope_type: 'instance', kind: 'manual', name: `Correlated ${++n}` });
      expect(res.status).toBe(201);
      expect(res.headers['x-correlation-id']).toBe(id);
      const [audit] = await db.query(
        `SELECT correlation_id FROM audit_event WHERE group_id = ? AND action = 'group_created'`,
        [res.body.id],
      );
      expect(audit.correlation_id).toBe(id);
    });

    it('replaces a longer one, or one with spaces, by an id of its own instead of answering 500', async () => {
      for (const given of ['y'.repeat(65), 'has spaces in it']) {
        const res = await api()
          .post(`${API}/groups`)
          .set('X-Correlation-Id', given)
          .send({ scope_type: 'instance', kind: 'manual', name: `Correlated ${++n}` });
        expect(res.status).toBe(201);
        expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
        const [audit] = await db.query(
          `SELECT correlation_id FROM audit_event WHERE group_id = ? AND action = 'group_created'`,
          [res.body.id],
        );
        expect(audit.correlation_id).toBe(res.headers['x-correlation-id']);
      }
    });
  });

  describe('pagination links', () => {
    it('are built from PUBLIC_BASE_URL, never from the Host header', async () => {
      const course = 'course-v1:Pages+Host+2026';
      await create(course);
      await create(course);
      await create(course);
      const res = await api()
        .get(`${API}/groups?scope_key=${encodeURIComponent(course)}&page_size=1&page=2`)
        .set('Host', 'evil.example')
        .set('X-Forwarded-Host', 'evil.example')
        .expect(200);
      for (const link of [res.body.next, res.body.previous]) {
        expect(link).not.toContain('evil.example');
        const url = new URL(link);
        expect(`${url.origin}${url.pathname}`).toBe(`${PUBLIC_BASE_URL}${API}/groups`);
        expect(url.searchParams.get('scope_key')).toBe(course);
        expect(url.searchParams.get('page_size')).toBe('1');
      }
      expect(new URL(res.body.next).searchParams.get('page')).toBe('3');
      expect(new URL(res.body.previous).searchParams.get('page')).toBe('1');
    });
  });

  describe('request bodies', () => {
    let server: Server;
    beforeAll(async () => {
      // A server of its own, so a test can hold a request open without supertest.
      server = createServer(app.getHttpAdapter().getInstance());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    /** Sends the headers and the start of a body that never ends: the answer, if one comes while the body is still open. */
    function answerWhileBodyOpen(
      path: string,
      headers: Record<string, string>,
      start: string,
      waitMs = 3000,
    ): Promise<{ status: number; body: any } | 'no answer'> {
      return new Promise((resolve) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          method: 'POST',
          path,
          headers: { ...headers, 'transfer-encoding': 'chunked' },
        });
        const timer = setTimeout(() => {
          req.destroy();
          resolve('no answer');
        }, waitMs);
        req.on('error', () => undefined);
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => {
            clearTimeout(timer);
            req.destroy();
            resolve({ status: res.statusCode!, body: JSON.parse(text) });
          });
        });
        req.write(start);
        // Keeps sending, never ending the body.
        const drip = setInterval(() => (req.destroyed ? clearInterval(drip) : req.write('x'.repeat(1024))), 50);
      });
    }

    it("refuses a learner's CSV upload with 403 before reading the multipart body", async () => {
      const g = await create('course-v1:Bodies+Csv+2026');
      const learner = await minter.mint(lmsUserClaims());
      const answer = await answerWhileBodyOpen(
        `${API}/groups/${g.id}/members/csv`,
        {
          authorization: `Bearer ${learner}`,
          'content-type': 'multipart/form-data; boundary=XyZ',
        },
        '--XyZ\r\nContent-Disposition: form-data; name="f1"\r\n\r\n',
      );
      expect(answer).toEqual({ status: 403, body: expect.objectContaining({ code: 'FORBIDDEN_SCOPE' }) });
    });

    it("refuses a learner's text/csv import with 403 before reading the body", async () => {
      const g = await create('course-v1:Bodies+Csv+2026');
      const learner = await minter.mint(lmsUserClaims());
      const answer = await answerWhileBodyOpen(
        `${API}/groups/${g.id}/members/csv`,
        { authorization: `Bearer ${learner}`, 'content-type': 'text/csv' },
        'username\n',
      );
      expect(answer).toEqual({ status: 403, body: expect.objectContaining({ code: 'FORBIDDEN_SCOPE' }) });
    });

    it('refuses a CSV upload with too many form fields, or a field too long, with 400 and says why', async () => {
      const g = await create('course-v1:Bodies+Csv+2026');
      let many = api().post(`${API}/groups/${g.id}/members/csv`);
      for (let i = 0; i < 1000; i++) many = many.field(`f${i}`, 'x');
      const res = await many.attach('file', Buffer.from('username\nnobody_here\n'), 'members.csv');
      expect([res.status, res.body.code]).toEqual([400, 'CSV_FORM_INVALID']);
      expect(res.body.message).toMatch(/too many fields/i);
      const long = await api()
        .post(`${API}/groups/${g.id}/members/csv`)
        .field('note', 'x'.repeat(1024 * 1024))
        .attach('file', Buffer.from('username\nnobody_here\n'), 'members.csv');
      expect([long.status, long.body.code]).toEqual([400, 'CSV_FORM_INVALID']);
      expect(long.body.message).toMatch(/field .*too long/i);
    });

    it('answers 413 with the error body to a 1 MB JSON body on a route that needs no large body', async () => {
      const res = await api()
        .post(`${API}/groups`)
        .set('content-type', 'application/json')
        .send(
          JSON.stringify({ scope_type: 'instance', kind: 'manual', name: 'Big', description: 'x'.repeat(1024 * 1024) }),
        );
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ code: 'ENTITY_TOO_LARGE', message: expect.any(String), details: {} });
    });

    it('reads no large body for a caller without a valid token: 401 while the body is still open', async () => {
      for (const path of [
        'groups/00000000-0000-4000-8000-000000000000/members',
        'groups/00000000-0000-4000-8000-000000000000/members/remove',
        'memberships/search',
      ]) {
        for (const authorization of [undefined, 'Bearer not.a.token']) {
          const answer = await answerWhileBodyOpen(
            `${API}/${path}`,
            { ...(authorization ? { authorization } : {}), 'content-type': 'application/json' },
            '{"members": [',
          );
          expect([path, answer === 'no answer' ? answer : [answer.status, answer.body.code]]).toEqual([
            path,
            [401, authorization ? 'AUTH_TOKEN_INVALID' : 'AUTH_TOKEN_MISSING'],
          ]);
        }
      }
    });

    it('still takes a 10,000-member body of several MB on the bulk member routes', async () => {
      const members = Array.from({ length: 10_000 }, (_, i) => ({
        username: `bulk_${'u'.repeat(120)}_${i}`,
        email: `bulk_${'e'.repeat(200)}_${i}@example.org`,
      }));
      const body = JSON.stringify({ members });
      expect(body.length).toBeGreaterThan(3 * 1024 * 1024);
      // A group that does not exist: the body was read and validated, and the handler answered.
      for (const path of ['members', 'members/remove']) {
        const res = await api()
          .post(`${API}/groups/00000000-0000-4000-8000-000000000000/${path}`)
          .set('content-type', 'application/json')
          .send(body);
        expect([path, res.status, res.body.code]).toEqual([path, 404, 'GROUP_NOT_FOUND']);
      }
    });
  });

  describe('what a learner sees of their groups', () => {
    it('shows a learner only the id, name and scope of their own groups; staff see the rest', async () => {
      const course = 'course-v1:Learner+View+2026';
      const [lea] = await lmsUsers(['view_lea']);
      const g = await api()
        .post(`${API}/groups`)
        .send({
          scope_type: 'course',
          scope_key: course,
          kind: 'manual',
          name: `Learner view ${++n}`,
          description: 'at risk: grade below 40',
        })
        .expect(201);
      await api()
        .post(`${API}/groups/${g.body.id}/members`)
        .send({ members: [{ user_id: lea.user_id }] })
        .expect(200);
      const learner = await minter.mint(lmsUserClaims({ preferred_username: lea.username, user_id: lea.user_id }));
      const mine = (
        await request(app.getHttpServer())
          .get(`${API}/users/${lea.user_id}/groups`)
          .set('Authorization', `Bearer ${learner}`)
          .expect(200)
      ).body;
      expect(mine.results).toEqual([
        { id: g.body.id, name: g.body.name, scope_type: 'course', scope_key: course, joined_at: expect.any(String) },
      ]);
      const asStaff = (await api().get(`${API}/users/${lea.user_id}/groups`).expect(200)).body;
      expect(asStaff.results).toEqual([
        expect.objectContaining({
          id: g.body.id,
          description: 'at risk: grade below 40',
          created_by: 'staff',
          criteria: [],
          evaluation_error: null,
          origin: 'api',
        }),
      ]);
      const teacher = await minter.mint(courseStaffClaims(course));
      const asTeacher = (
        await request(app.getHttpServer())
          .get(`${API}/users/${lea.user_id}/groups`)
          .set('Authorization', `Bearer ${teacher}`)
          .expect(200)
      ).body;
      expect(asTeacher.results).toEqual([
        expect.objectContaining({ id: g.body.id, description: 'at risk: grade below 40' }),
      ]);
    });

    it('shows plugin_load_errors of the criterion types to global staff and reading service clients only', async () => {
      const callers = {
        'global staff': staffToken,
        'read-only service client': await minter.mint(serviceClaims(['user_groups:read'])),
        learner: await minter.mint(lmsUserClaims()),
        'course staff': await minter.mint(courseStaffClaims('course-v1:Learner+View+2026')),
        'restricted application': await minter.mint(
          serviceClaims(['user_groups:read'], { is_restricted: true, filters: ['content_org:Learner'] }),
        ),
      };
      const shown: Record<string, boolean> = {};
      for (const [caller, token] of Object.entries(callers)) {
        const res = await request(app.getHttpServer())
          .get(`${API}/criterion-types`)
          .set('Authorization', `Bearer ${token}`)
          .expect(200);
        expect(res.body.results.length).toBeGreaterThan(0);
        shown[caller] = 'plugin_load_errors' in res.body;
      }
      expect(shown).toEqual({
        'global staff': true,
        'read-only service client': true,
        learner: false,
        'course staff': false,
        'restricted application': false,
      });
    });
  });
});
