import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { MembershipsService } from '../memberships/memberships.service';
import { GroupsApp, startGroupsApp } from '../test/groups-app';
import { GroupsService } from './groups.service';

const COURSE = 'course-v1:TestX+Collections+2026';
const API = '/api/user-groups/v1';

describe('collections: a user is in at most one group of a collection', () => {
  let app: INestApplication;
  let db: DataSource;
  let stop: () => Promise<void>;
  let staffToken: string;
  let lmsUsers: GroupsApp['lmsUsers'];
  const api = () => request.agent(app.getHttpServer()).set('Authorization', `Bearer ${staffToken}`);
  let n = 0;
  const group = async (body: Record<string, unknown> = {}) =>
    (
      await api()
        .post(`${API}/groups`)
        .send({ scope_type: 'course', scope_key: COURSE, kind: 'manual', name: `Collections ${++n}`, ...body })
    ).body as { id: string; version: number };
  const add = (groupId: string, members: Array<{ user_id: number }>) =>
    api().post(`${API}/groups/${groupId}/members`).send({ members }).expect(200);
  const activeGroupsOf = async (userId: number, groupIds: string[]) =>
    (
      await db.query(
        'SELECT group_id FROM membership WHERE user_id = ? AND active = 1 AND group_id IN (?) ORDER BY group_id',
        [userId, groupIds],
      )
    ).map((r: { group_id: string }) => r.group_id);

  beforeAll(async () => {
    ({ app, dataSource: db, stop, staffToken, lmsUsers } = await startGroupsApp(4));
  }, 90_000);
  afterAll(() => stop());

  it('refuses to move a group into a collection where one of its members is in another group already, with 409 and the overlap', async () => {
    const [ana, ben] = await lmsUsers(['coll_ana', 'coll_ben']);
    const sectionA = await group({ collection: 'Sections' });
    const other = await group();
    await add(sectionA.id, [ana]);
    await add(other.id, [ana, ben]);
    const res = await api()
      .patch(`${API}/groups/${other.id}`)
      .set('If-Match', `"${other.version}"`)
      .send({ collection: 'Sections' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'COLLECTION_CONFLICT',
      message: expect.stringContaining('1 member of this group is in another group of collection "Sections"'),
      details: {
        field: 'collection',
        collection: 'Sections',
        overlapping_members: 1,
        examples: [{ user_id: ana.user_id, group_id: sectionA.id }],
      },
    });
    // Nothing changed: the group stays out of the collection, at its version, and ana stays in both.
    const after = (await api().get(`${API}/groups/${other.id}`).expect(200)).body;
    expect(after).toMatchObject({ collection: null, version: other.version });
    expect(await activeGroupsOf(ana.user_id, [sectionA.id, other.id])).toEqual([sectionA.id, other.id].sort());
  });

  it('moves a group without overlap into the collection, after which joining one group of it leaves the other', async () => {
    const [cleo] = await lmsUsers(['coll_cleo']);
    const sectionA = await group({ collection: 'Tracks' });
    const sectionB = await group();
    await add(sectionA.id, [cleo]);
    const res = await api()
      .patch(`${API}/groups/${sectionB.id}`)
      .set('If-Match', `"${sectionB.version}"`)
      .send({ collection: 'Tracks' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ collection: 'Tracks', version: sectionB.version + 1 });
    await add(sectionB.id, [cleo]);
    expect(await activeGroupsOf(cleo.user_id, [sectionA.id, sectionB.id])).toEqual([sectionB.id]);
  });

  it('keeps an add that read the group before it joined the collection exclusive: the writer reads the siblings again under lock', async () => {
    const [eli] = await lmsUsers(['coll_eli']);
    const sectionA = await group({ collection: 'Labs' });
    const sectionB = await group();
    await add(sectionA.id, [eli]);
    const readBefore = await app.get(GroupsService).get(sectionB.id); // what an add loaded before the PATCH committed
    await api()
      .patch(`${API}/groups/${sectionB.id}`)
      .set('If-Match', `"${sectionB.version}"`)
      .send({ collection: 'Labs' })
      .expect(200);
    const [result] = await app
      .get(MembershipsService)
      .add(readBefore, [{ user_id: eli.user_id }], { actor: 'it', trigger: 'user', origin: 'api', at: new Date() });
    expect(result.result).toBe('added');
    expect(await activeGroupsOf(eli.user_id, [sectionA.id, sectionB.id])).toEqual([sectionB.id]);
  });

  it('lets a group leave its collection, or change anything else, without the check', async () => {
    const [dora] = await lmsUsers(['coll_dora']);
    const inside = await group({ collection: 'Cohorts' });
    const alsoInside = await group({ collection: 'Cohorts' });
    await add(inside.id, [dora]);
    // dora is in one group of the collection; a rename of the other one is no move.
    expect(
      (
        await api()
          .patch(`${API}/groups/${alsoInside.id}`)
          .set('If-Match', `"${alsoInside.version}"`)
          .send({ name: `Renamed ${++n}` })
      ).status,
    ).toBe(200);
    expect(
      (
        await api()
          .patch(`${API}/groups/${inside.id}`)
          .set('If-Match', `"${inside.version}"`)
          .send({ collection: null })
      ).status,
    ).toBe(200);
  });
});
