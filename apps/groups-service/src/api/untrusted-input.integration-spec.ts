import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { TokenMinter, serviceClaims } from '@groups-sync/auth/testing';
import { startGroupsApp } from '../test/groups-app';

const API = '/api/user-groups/v1';
/** What the test app's PUBLIC_BASE_URL is set to (startGroupsApp). */
const PUBLIC_BASE_URL = 'https://groups.example.org/prefix';

describe('headers and token claims a caller controls', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let minter: TokenMinter;
  let staffToken: string;
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  let n = 0;
  const create = async (scope_key: string, scope_type = 'course') =>
    (await api().post(`${API}/groups`).send({ scope_type, scope_key, kind: 'manual', name: `Untrusted ${++n}` }).expect(201)).body as { id: string };

  beforeAll(async () => {
    process.env.PUBLIC_BASE_URL = PUBLIC_BASE_URL;
    ({ app, dataSource: db, stop, minter, staffToken } = await startGroupsApp(6));
  }, 90_000);
  afterAll(async () => {
    delete process.env.PUBLIC_BASE_URL;
    await stop();
  });

  describe("a restricted application's content_org filter", () => {
    it('matches its organization literally: "_" and "%" in an org are no wildcards', async () => {
      const theirs = [await create('course-v1:Org_1+Course+2026'), await create('Org_1/Old/2013'), await create('Org_1', 'org')];
      const others = [await create('course-v1:OrgX1+Course+2026'), await create('OrgY1/Course/2026'), await create('OrgZ1', 'org')];
      const restricted = (org: string) => minter.mint(serviceClaims(['user_groups:read'], { is_restricted: true, filters: [`content_org:${org}`] }));
      const listed = async (org: string) => (await request(app.getHttpServer()).get(`${API}/groups?page_size=100`).set('Authorization', `Bearer ${await restricted(org)}`).expect(200))
        .body.results.map((g: { id: string }) => g.id);
      expect(new Set(await listed('Org_1'))).toEqual(new Set(theirs.map((g) => g.id)));
      expect(await listed('Org%')).toEqual([]);
      expect(await listed('%')).toEqual([]);
      expect(await listed('OrgX1')).toEqual([others[0].id]);
    });
  });

  describe('X-Correlation-Id', () => {
    it('keeps an id of up to 64 visible characters, stored with the change it caused', async () => {
      const id = `c-${'x'.repeat(62)}`;
      const res = await api().post(`${API}/groups`).set('X-Correlation-Id', id).send({ scope_type: 'instance', kind: 'manual', name: `Correlated ${++n}` });
      expect(res.status).toBe(201);
      expect(res.headers['x-correlation-id']).toBe(id);
      const [audit] = await db.query(`SELECT correlation_id FROM audit_event WHERE group_id = ? AND action = 'group_created'`, [res.body.id]);
      expect(audit.correlation_id).toBe(id);
    });

    it('replaces a longer one, or one with spaces, by an id of its own instead of answering 500', async () => {
      for (const given of ['y'.repeat(65), 'has spaces in it']) {
        const res = await api().post(`${API}/groups`).set('X-Correlation-Id', given).send({ scope_type: 'instance', kind: 'manual', name: `Correlated ${++n}` });
        expect(res.status).toBe(201);
        expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
        const [audit] = await db.query(`SELECT correlation_id FROM audit_event WHERE group_id = ? AND action = 'group_created'`, [res.body.id]);
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
      const res = await api().get(`${API}/groups?scope_key=${encodeURIComponent(course)}&page_size=1&page=2`).set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example').expect(200);
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
});
