import { INestApplication } from '@nestjs/common';
import { register } from 'prom-client';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { startGroupsApp } from '../test/groups-app';
import { denied, FakeLms, throttled } from '../test/fake-lms';

const API = '/api/user-groups/v1';
const DEADLINE_MS = 2000;

describe('adding members while the LMS accounts API throttles or refuses us', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let staffToken: string;
  let lms: FakeLms;
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  const group = async () =>
    (
      await api()
        .post(`${API}/groups`)
        .send({
          scope_type: 'course',
          scope_key: 'course-v1:TestX+Lms+2026',
          kind: 'manual',
          name: `Lms ${Date.now()}`,
        })
    ).body as { id: string };

  beforeAll(async () => {
    lms = await new FakeLms(throttled).start();
    ({
      app,
      dataSource: db,
      stop,
      staffToken,
    } = await startGroupsApp(2, { LMS_BASE_URL: lms.url, USER_DIRECTORY_DEADLINE_MS: String(DEADLINE_MS) }));
  }, 90_000);
  afterAll(async () => {
    await stop?.();
    await lms?.stop();
  });

  it('answers a 10,000-id add within USER_DIRECTORY_DEADLINE_MS when the LMS answers 429 with Retry-After: 60, each id refused with a reason', async () => {
    lms.answer = throttled;
    const g = await group();
    const started = Date.now();
    const res = await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: Array.from({ length: 10_000 }, (_, i) => ({ user_id: i + 1 })) });
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 2000);
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(10_000);
    expect(res.body.results[9_999]).toEqual({
      user_id: 10_000,
      username: null,
      result: 'refused',
      reason: expect.stringContaining('send it again'),
    });
    expect(res.body.results.every((r: { result: string }) => r.result === 'refused')).toBe(true);
    expect(await db.query('SELECT 1 FROM membership WHERE group_id = ?', [g.id])).toEqual([]);
  }, 30_000);

  it('answers 503 LMS_ACCESS_DENIED, naming the setting, when the accounts API answers 403, and marks nobody unknown', async () => {
    lms.answer = denied;
    const g = await group();
    const res = await api()
      .post(`${API}/groups/${g.id}/members`)
      .send({ members: [{ username: 'ana' }, { user_id: 42 }] });
    expect([res.status, res.body.code]).toEqual([503, 'LMS_ACCESS_DENIED']);
    expect(res.body.message).toContain('LMS_OAUTH_CLIENT_ID');
    expect(await db.query('SELECT 1 FROM membership WHERE group_id = ?', [g.id])).toEqual([]);
    expect(await register.metrics()).toMatch(/lms_api_errors_total\{kind="access_denied"[^}]*\} [1-9]/);
  });
});
