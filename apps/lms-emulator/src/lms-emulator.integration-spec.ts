import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ConfluentSchemaRegistry, DecodedEvent, EventCodec, EventType, fullTopicName, Topic } from '@groups-sync/contracts';
import { createKafka, TopicReader } from '@groups-sync/messaging';
import { configureHttp } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { expectEventually, stackEnv, uniqueSuffix } from '@groups-sync/testing';

const env = stackEnv();
const COURSE = 'course-v1:EmuX+Rules+2026';
const NOT_ALLOWED = { detail: 'You do not have permission to perform this action.' };

/**
 * The emulator in this process on the real database and broker, with a test database and topic
 * prefix of its own; a TopicReader watches what it sends to Kafka. Config is read when app.module
 * loads, so the environment is set first.
 */
describe('lms-emulator on a real database and broker', () => {
  const suffix = uniqueSuffix();
  const prefix = `it-${suffix}`;
  const database = `lms_it_${suffix}_test`;
  let app: INestApplication;
  let db: DataSource;
  let reader: TopicReader;
  let codec: EventCodec;
  let staffToken: string;
  let n = 0;
  const unique = (base: string) => `${base}_${suffix}_${++n}`;
  const server = () => app.getHttpServer();
  const asStaff = (token = staffToken) => ({ Authorization: `JWT ${token}` });
  const cohorts = (course: string, path = '') => `/api/cohorts/v1/courses/${course}/cohorts/${path}`;

  async function fixture(path: string, body: unknown) {
    const res = await request(server()).post(`/emulator/${path}`).send(body as object);
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  /** LMS accounts, in the order asked (the fixture answers in database order). */
  async function learners(names: string[]) {
    const users = (await fixture('users', { users: names.map((username) => ({ username })) })).users as Array<{ id: number; username: string }>;
    return names.map((name) => users.find((u) => u.username === name)!);
  }
  async function clientToken(tokenType: 'jwt' | 'bearer') {
    const res = await request(server()).post('/oauth2/access_token').type('form')
      .send({ grant_type: 'client_credentials', client_id: 'groups-sync', client_secret: 'groups-sync-secret', token_type: tokenType });
    return res.body.access_token as string;
  }
  async function createCohort(course = COURSE) {
    const res = await request(server()).post(cohorts(course)).set(asStaff()).send({ name: unique('Cohort'), assignment_type: 'manual' });
    expect(res.status).toBe(200);
    return res.body.id as number;
  }
  /** The COHORT_MEMBERSHIP_CHANGED events the emulator has sent so far, by learner. */
  async function sentFor(username: string) {
    const events = await Promise.all(reader.messages.map((m) => codec.decode(m.value, m.headers, m.key)));
    return events.filter((e) => e.type === EventType.CohortMembershipChanged && (e.data as { cohort: { user: { pii: { username: string } } } }).cohort.user.pii.username === username);
  }
  /** The login and grade events the emulator has sent so far about one user id. */
  async function sentAbout(type: EventType.SessionLoginCompleted | EventType.PersistentGradeSummaryChanged, userId: number) {
    const events = await Promise.all(reader.messages.map((m) => codec.decode(m.value, m.headers, m.key)));
    return events.filter((e) => e.type === type && (type === EventType.SessionLoginCompleted
      ? (e as DecodedEvent<EventType.SessionLoginCompleted>).data.user.id
      : (e as DecodedEvent<EventType.PersistentGradeSummaryChanged>).data.grade.user_id) === userId);
  }
  const membership = async (userId: number) => db.query('SELECT course_user_group_id FROM course_groups_cohortmembership WHERE user_id = ? AND course_id = ?', [userId, COURSE]);

  beforeAll(async () => {
    Object.assign(process.env, env, { DB_NAME: database, EVENT_BUS_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' });
    const { AppModule } = await import('./app.module');
    app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    configureHttp(app);
    await app.init(); // runs the migrations and creates the prefixed topics
    db = app.get(DataSource);
    codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), prefix);
    reader = new TopicReader(createKafka({ clientId: 'it-lms-emulator', brokers: env.KAFKA_BROKERS.split(',') }),
      [Topic.LmsCohortMembership, Topic.LmsUserLogin, Topic.LmsCourseGrade].map((t) => fullTopicName(t, prefix)));
    await reader.start();
    staffToken = await clientToken('jwt');
    await fixture('courses', { course_id: COURSE });
  }, 90_000);

  afterAll(async () => {
    await reader?.stop();
    await app?.close();
    await dropDatabase(env.MYSQL_URL, database);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await request(server()).delete('/emulator/faults');
  });

  describe('who may call the cohorts API', () => {
    it('answers 403 to a valid token of a user who is not global staff, on cohorts and settings, and keeps the accounts API open to it', async () => {
      const [learner] = await learners([unique('learner')]);
      const token = (await fixture('tokens', { username: learner.username })).access_token;
      for (const call of [
        () => request(server()).get(cohorts(COURSE)), () => request(server()).post(cohorts(COURSE)).send({ name: 'x', assignment_type: 'manual' }),
        () => request(server()).get(`/api/cohorts/v1/settings/${COURSE}`), () => request(server()).put(`/api/cohorts/v1/settings/${COURSE}`).send({ is_cohorted: false }),
      ]) {
        const res = await call().set(asStaff(token));
        expect(res.status).toBe(403);
        expect(res.body).toEqual(NOT_ALLOWED);
      }
      expect((await request(server()).get(`/api/cohorts/v1/settings/${COURSE}`).set(asStaff())).body.is_cohorted).toBe(true);
      expect((await request(server()).get(`/api/user/v1/accounts?username=${learner.username}`).set(asStaff(token))).status).toBe(200);
      expect((await request(server()).get(cohorts(COURSE))).status).toBe(401);
      expect((await request(server()).get(`/api/user/v1/accounts?username=${learner.username}`)).status).toBe(401);
    });

    it('lets in global staff (the administrator claim) and the OAuth2 client, by JWT or opaque bearer token', async () => {
      const [admin] = await learners([unique('admin')]);
      const adminToken = (await fixture('tokens', { username: admin.username, administrator: true })).access_token;
      for (const authorization of [`JWT ${adminToken}`, `JWT ${await clientToken('jwt')}`, `Bearer ${await clientToken('bearer')}`]) {
        const res = await request(server()).get(cohorts(COURSE)).set({ authorization });
        expect(res.status).toBe(200);
      }
    });
  });

  describe('unknown courses', () => {
    it('answer 404 course-not-found on every cohorts route and the settings, and nothing is written', async () => {
      const unknown = `course-v1:EmuX+Nowhere+${suffix}`;
      const cohortId = await createCohort(); // a cohort that exists, in another course
      const [learner] = await learners([unique('nowhere')]);
      const calls = [
        () => request(server()).get(cohorts(unknown)),
        () => request(server()).post(cohorts(unknown)).send({ name: 'New', assignment_type: 'manual' }),
        () => request(server()).get(cohorts(unknown, String(cohortId))),
        () => request(server()).patch(cohorts(unknown, String(cohortId))).send({ name: 'Renamed' }),
        () => request(server()).get(cohorts(unknown, `${cohortId}/users/`)),
        () => request(server()).post(cohorts(unknown, `${cohortId}/users/`)).send({ users: [learner.username] }),
        () => request(server()).delete(cohorts(unknown, `${cohortId}/users/${learner.username}`)),
        () => request(server()).get(`/api/cohorts/v1/settings/${unknown}`),
        () => request(server()).put(`/api/cohorts/v1/settings/${unknown}`).send({ is_cohorted: true }),
        // The course is looked up first: what else is wrong with the request does not matter.
        () => request(server()).put(`/api/cohorts/v1/settings/${unknown}`).send({}),
        () => request(server()).post(cohorts(unknown)).send({}),
      ];
      for (const call of calls) {
        const res = await call().set(asStaff());
        expect({ status: res.status, body: res.body }).toEqual({ status: 404, body: { developer_message: `Course not found: ${unknown}.`, error_code: 'course-not-found' } });
      }
      expect(await db.query('SELECT id FROM course_groups_courseusergroup WHERE course_id = ?', [unknown])).toEqual([]);
      expect(await db.query('SELECT id FROM course_groups_coursecohortssettings WHERE course_id = ?', [unknown])).toEqual([]);
    });
  });

  describe('cohort settings', () => {
    it('round-trips is_cohorted through GET and PUT (and PATCH), and refuses a missing or non-boolean value', async () => {
      const course = `course-v1:EmuX+Settings+${suffix}`;
      expect(await fixture('courses', { course_id: course, cohorted: false })).toEqual({ course_id: course, is_cohorted: false });
      const settings = `/api/cohorts/v1/settings/${course}`;
      const read = await request(server()).get(settings).set(asStaff());
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ id: expect.any(Number), is_cohorted: false });
      const put = await request(server()).put(settings).set(asStaff()).send({ is_cohorted: true });
      expect({ status: put.status, body: put.body }).toEqual({ status: 200, body: { id: read.body.id, is_cohorted: true } });
      expect((await request(server()).get(settings).set(asStaff())).body).toEqual({ id: read.body.id, is_cohorted: true });
      const patched = await request(server()).patch(settings).set(asStaff()).send({ is_cohorted: false });
      expect({ status: patched.status, body: patched.body }).toEqual({ status: 200, body: { id: read.body.id, is_cohorted: false } });
      const missing = await request(server()).put(settings).set(asStaff()).send({});
      expect({ status: missing.status, code: missing.body.error_code }).toEqual({ status: 400, code: 'missing-is_cohorted' });
      const notBoolean = await request(server()).put(settings).set(asStaff()).send({ is_cohorted: 'yes' });
      expect({ status: notBoolean.status, code: notBoolean.body.error_code }).toEqual({ status: 400, code: 'error-setting-is_cohorted' });
      expect((await request(server()).get(settings).set(asStaff())).body.is_cohorted).toBe(false);
      // The fixture is idempotent: a course it knows keeps its settings.
      expect(await fixture('courses', { course_id: course, cohorted: true })).toEqual({ course_id: course, is_cohorted: false });
    });
  });

  describe('enrollment fixture', () => {
    it('makes the course known, cohorted unless told otherwise, and leaves a known course as it is', async () => {
      const [a, b] = await learners([unique('enr'), unique('enr')]);
      const plain = `course-v1:EmuX+Cohorted+${suffix}`;
      const uncohorted = `course-v1:EmuX+Plain+${suffix}`;
      await fixture('enrollments', { username: a.username, course_id: plain });
      await fixture('enrollments', { username: a.username, course_id: uncohorted, cohorted: false });
      await fixture('enrollments', { username: b.username, course_id: uncohorted, cohorted: true });
      const isCohorted = async (course: string) => (await request(server()).get(`/api/cohorts/v1/settings/${course}`).set(asStaff())).body.is_cohorted;
      expect([await isCohorted(plain), await isCohorted(uncohorted)]).toEqual([true, false]);
      expect((await request(server()).get(cohorts(uncohorted)).set(asStaff())).status).toBe(200);
    });

    it('enrolls 1,000 learners in one call, and makes their course known', async () => {
      const course = `course-v1:EmuX+Bulk+${suffix}`;
      const people = await learners(Array.from({ length: 1000 }, () => unique('bulk')));
      const body = await fixture('enrollments', { enrollments: people.map((p) => ({ username: p.username, course_id: course, mode: 'verified' })) });
      expect(body.enrollments).toHaveLength(1000);
      const [{ count }] = await db.query(`SELECT COUNT(*) AS count FROM student_courseenrollment WHERE course_id = ? AND is_active = 1 AND mode = 'verified'`, [course]);
      expect(Number(count)).toBe(1000);
      expect((await request(server()).get(`/api/cohorts/v1/settings/${course}`).set(asStaff())).body.is_cohorted).toBe(true);
      const unknown = await request(server()).post('/emulator/enrollments').send({ enrollments: [{ username: unique('nobody'), course_id: course }] });
      expect(unknown.status).toBe(400);
    });
  });

  describe('login and grade events', () => {
    it('a login writes last_login, then sends SESSION_LOGIN_COMPLETED on user-login, keyed by username', async () => {
      const [ana] = await learners([unique('login')]);
      const before = Date.now();
      const res = await fixture('logins', { username: ana.username });
      expect(res).toEqual({ user_id: ana.id, username: ana.username, last_login: expect.any(String) });
      const [{ last_login: lastLogin }] = await db.query('SELECT last_login FROM auth_user WHERE id = ?', [ana.id]);
      expect(new Date(lastLogin).getTime()).toBeGreaterThanOrEqual(before - 1000);
      const [event] = await expectEventually(async () => {
        const sent = await sentAbout(EventType.SessionLoginCompleted, ana.id);
        expect(sent).toHaveLength(1);
        return sent;
      });
      expect({ key: event.key, data: event.data }).toEqual({
        key: ana.username, data: { user: { id: ana.id, is_active: true, pii: { username: ana.username, email: `${ana.username}@example.com`, name: ana.username } } },
      });
      expect((await request(server()).post('/emulator/logins').send({ username: unique('nobody') })).status).toBe(400);
    });

    it('a grade that is new or different sends PERSISTENT_GRADE_SUMMARY_CHANGED keyed by course; the same grade again, or setting last_login, sends nothing', async () => {
      const [ben, marker] = await learners([unique('graded'), unique('marker')]);
      const put = (body: object) => request(server()).put('/emulator/learner-data').send(body).expect(200);
      await put({ username: ben.username, grades: { [COURSE]: 80 } });
      await put({ username: ben.username, grades: { [COURSE]: 80 }, last_login: new Date().toISOString() });
      await put({ username: ben.username, grades: { [COURSE]: 60 } });
      // Events are sent in the order they fired: once the marker's is in, any of ben's before it are too.
      await put({ username: marker.username, grades: { [COURSE]: 10 } });
      await expectEventually(async () => expect(await sentAbout(EventType.PersistentGradeSummaryChanged, marker.id)).toHaveLength(1));
      const sent = await sentAbout(EventType.PersistentGradeSummaryChanged, ben.id);
      expect(sent.map((e) => [e.key, (e as DecodedEvent<EventType.PersistentGradeSummaryChanged>).data.grade.percent_grade])).toEqual([[COURSE, 0.8], [COURSE, 0.6]]);
      expect((sent[0] as DecodedEvent<EventType.PersistentGradeSummaryChanged>).data.grade).toMatchObject({ user_id: ben.id, course: { course_key: COURSE }, passed_timestamp: '' });
      expect(await sentAbout(EventType.SessionLoginCompleted, ben.id)).toEqual([]);
    });

    it('drop: a learner\'s login is written but its event is not sent', async () => {
      const [dropped, control] = await learners([unique('nologin'), unique('login')]);
      await request(server()).put('/emulator/faults').send({ drop_events_for: [dropped.username] }).expect(200);
      await fixture('logins', { username: dropped.username });
      await fixture('logins', { username: control.username });
      await expectEventually(async () => expect(await sentAbout(EventType.SessionLoginCompleted, control.id)).toHaveLength(1));
      expect(await sentAbout(EventType.SessionLoginCompleted, dropped.id)).toEqual([]);
      expect((await db.query('SELECT last_login FROM auth_user WHERE id = ?', [dropped.id]))[0].last_login).not.toBeNull();
    });
  });

  describe('5xx answers', () => {
    it('log their cause: a duplicate cohort name answers Django\'s bare 500 (add_cohort\'s ValueError)', async () => {
      const error = jest.spyOn(Logger.prototype, 'error');
      const name = unique('Twice');
      await request(server()).post(cohorts(COURSE)).set(asStaff()).send({ name, assignment_type: 'manual' }).expect(200);
      const again = await request(server()).post(cohorts(COURSE)).set(asStaff()).send({ name, assignment_type: 'manual' });
      expect({ status: again.status, body: again.text }).toEqual({ status: 500, body: '<h1>Server Error (500)</h1>' });
      expect(error).toHaveBeenCalledWith(expect.stringContaining(`500 on POST ${cohorts(COURSE)}: ValueError: You cannot create two cohorts with the same name`), expect.anything());
    });
  });

  describe('event faults', () => {
    it('drop: the add commits but the learner\'s event never reaches Kafka, and says so in the log', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const [dropped, control] = await learners([unique('dropped'), unique('control')]);
      const set = await request(server()).put('/emulator/faults').send({ drop_events_for: [dropped.username.toUpperCase()] });
      expect(set.status).toBe(200);
      expect((await request(server()).get('/emulator/faults')).body).toEqual({ drop_events_share: 0, drop_events_for: [dropped.username.toUpperCase()], rollback_after_emit_for: [], fail_adds_for: [] });
      const cohortId = await createCohort();
      const added = await request(server()).post(cohorts(COURSE, `${cohortId}/users/`)).set(asStaff()).send({ users: [dropped.username, control.username] });
      expect(added.status).toBe(200);
      expect(added.body.added).toHaveLength(2);
      expect(await membership(dropped.id)).toEqual([{ course_user_group_id: cohortId }]);
      // Events are sent in the order their signals fired: once the control's is in, the dropped one's would be.
      await expectEventually(async () => expect(await sentFor(control.username)).toHaveLength(1));
      expect(await sentFor(dropped.username)).toEqual([]);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`${dropped.username}.*dropped by fault injection`)));
      // Cleared, the learner's next change is sent again.
      expect((await request(server()).delete('/emulator/faults')).status).toBe(204);
      await request(server()).post(cohorts(COURSE, `${await createCohort()}/users/`)).set(asStaff()).send({ users: [dropped.username] });
      await expectEventually(async () => expect(await sentFor(dropped.username)).toHaveLength(1));
    });

    it('rollback after emit: the event is sent, the add answers 500 with its cause logged, and no membership is written', async () => {
      const error = jest.spyOn(Logger.prototype, 'error');
      const [phantom] = await learners([unique('phantom')]);
      await request(server()).put('/emulator/faults').send({ rollback_after_emit_for: [phantom.username] }).expect(200);
      const cohortId = await createCohort();
      const added = await request(server()).post(cohorts(COURSE, `${cohortId}/users/`)).set(asStaff()).send({ users: [phantom.username] });
      expect(added.status).toBe(500);
      const [event] = await expectEventually(async () => {
        const sent = await sentFor(phantom.username);
        expect(sent).toHaveLength(1);
        return sent;
      });
      expect(event.key).toBe(COURSE);
      expect(await membership(phantom.id)).toEqual([]);
      expect(error).toHaveBeenCalledWith(expect.stringContaining(`500 on POST ${cohorts(COURSE, `${cohortId}/users/`)}: rollback after emit`), expect.anything());
    });
  });
});
