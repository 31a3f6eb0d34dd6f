import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { startGroupsApp } from '../test/groups-app';

const API = '/api/user-groups/v1';
const MISSING = '00000000-0000-4000-8000-000000000000';
/** The controller's defaults (importing it here would load the entities before the app module). */
const SEARCH_PAGE_SIZE = 5000;
const SEARCH_MAX_PAGE_SIZE = 10_000;

describe('memberships search, page by page', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let staffToken: string;
  let a: string, b: string;
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  const group = async (name: string) =>
    (
      (
        await api()
          .post(`${API}/groups`)
          .send({ scope_type: 'course', scope_key: 'course-v1:TestX+Search+2026', kind: 'manual', name })
      ).body as { id: string }
    ).id;
  /** `n` members straight into the table: the API is not what is tested here. */
  const fill = (groupId: string, n: number) =>
    db.query(
      `INSERT INTO membership (group_id, user_id, username, active, joined_at, origin, changed_at)
     SELECT ?, seq, CONCAT('user_', seq), seq % 10 <> 0, NOW(6), 'api', NOW(6) FROM seq_1_to_${n}`,
      [groupId],
    );

  beforeAll(async () => {
    ({ app, dataSource: db, stop, staffToken } = await startGroupsApp(1));
    [a, b] = [await group('Search A'), await group('Search B')];
    await fill(a, 7000);
    await fill(b, 5500);
  }, 90_000);
  afterAll(() => stop?.());

  it('answers more rows than a page in pages of at most page_size, each row once, missing_group_ids on every page', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api()
        .post(`${API}/memberships/search`)
        .send({ group_ids: [a, b, MISSING], ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(res.body.memberships.length).toBeLessThanOrEqual(SEARCH_PAGE_SIZE);
      expect(res.body.missing_group_ids).toEqual([MISSING]);
      for (const m of res.body.memberships as Array<{ group_id: string; user_id: number }>)
        seen.add(`${m.group_id}:${m.user_id}`);
      cursor = res.body.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.size).toBe(12_500);
  });

  it('takes a page_size up to the cap, and only active members when asked', async () => {
    const res = await api()
      .post(`${API}/memberships/search`)
      .send({ group_ids: [a], status: 'active', page_size: 100 })
      .expect(200);
    expect(res.body.memberships).toHaveLength(100);
    expect(res.body.memberships.every((m: { active: boolean }) => m.active)).toBe(true);
    expect(res.body.next_cursor).toEqual(expect.any(String));
    await api()
      .post(`${API}/memberships/search`)
      .send({ group_ids: [a], page_size: SEARCH_MAX_PAGE_SIZE + 1 })
      .expect(400);
  });

  it('refuses a cursor it did not give with 400 INVALID_CURSOR', async () => {
    const res = await api()
      .post(`${API}/memberships/search`)
      .send({ group_ids: [a], cursor: 'bm90IG91cnM' });
    expect([res.status, res.body.code]).toEqual([400, 'INVALID_CURSOR']);
  });
});
