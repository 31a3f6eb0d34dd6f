import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  ConfluentSchemaRegistry,
  DecodedEvent,
  EventCodec,
  EventType,
  fullTopicName,
  Topic,
} from '@groups-sync/contracts';
import { createKafka, MessageProducer, TopicReader } from '@groups-sync/messaging';
import { configureHttp } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { expectEventually, stackEnv, uniqueSuffix } from '@groups-sync/testing';

const env = stackEnv();
const COURSE = 'course-v1:EmuX+Rules+2026';
/** The cohorts API's views have DeveloperErrorViewMixin: DRF's refusal under developer_message. */
const NOT_ALLOWED = { developer_message: 'You do not have permission to perform this action.' };

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
    const res = await request(server())
      .post(`/emulator/${path}`)
      .send(body as object);
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  /** LMS accounts, in the order asked (the fixture answers in database order). */
  async function learners(names: string[]) {
    const users = (await fixture('users', { users: names.map((username) => ({ username })) })).users as Array<{
      id: number;
      username: string;
    }>;
    return names.map((name) => users.find((u) => u.username === name)!);
  }
  async function clientToken(tokenType: 'jwt' | 'bearer') {
    const res = await request(server()).post('/oauth2/access_token').type('form').send({
      grant_type: 'client_credentials',
      client_id: 'groups-sync',
      client_secret: 'groups-sync-secret',
      token_type: tokenType,
    });
    return res.body.access_token as string;
  }
  async function createCohort(course = COURSE) {
    const res = await request(server())
      .post(cohorts(course))
      .set(asStaff())
      .send({ name: unique('Cohort'), assignment_type: 'manual' });
    expect(res.status).toBe(200);
    return res.body.id as number;
  }
  /** The COHORT_MEMBERSHIP_CHANGED events the emulator has sent so far, by learner. */
  async function sentFor(username: string) {
    const events = await Promise.all(reader.messages.map((m) => codec.decode(m.value, m.headers, m.key)));
    return events.filter(
      (e) =>
        e.type === EventType.CohortMembershipChanged &&
        (e.data as { cohort: { user: { pii: { username: string } } } }).cohort.user.pii.username === username,
    );
  }
  /** The login and grade events the emulator has sent so far about one user id. */
  async function sentAbout(
    type: EventType.SessionLoginCompleted | EventType.PersistentGradeSummaryChanged,
    userId: number,
  ) {
    const events = await Promise.all(reader.messages.map((m) => codec.decode(m.value, m.headers, m.key)));
    return events.filter(
      (e) =>
        e.type === type &&
        (type === EventType.SessionLoginCompleted
          ? (e as DecodedEvent<EventType.SessionLoginCompleted>).data.user.id
          : (e as DecodedEvent<EventType.PersistentGradeSummaryChanged>).data.grade.user_id) === userId,
    );
  }
  const membership = async (userId: number) =>
    db.query('SELECT course_user_group_id FROM course_groups_cohortmembership WHERE user_id = ? AND course_id = ?', [
      userId,
      COURSE,
    ]);

  beforeAll(async () => {
    Object.assign(process.env, env, {
      DB_NAME: database,
      EVENT_BUS_TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      LMS_EMULATOR_TEST_PEER: 'true',
    });
    const { AppModule } = await import('./app.module');
    app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    configureHttp(app);
    await app.init(); // runs the migrations and creates the prefixed topics
    db = app.get(DataSource);
    codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), prefix);
    reader = new TopicReader(
      createKafka({ clientId: 'it-lms-emulator', brokers: env.KAFKA_BROKERS.split(',') }),
      [
        Topic.LmsCohortMembership,
        Topic.LmsUserLogin,
        Topic.LmsCourseGrade,
        Topic.LmsCourseEnrollment,
        Topic.LmsCourseUnenrollment,
        Topic.LmsTeamMembership,
      ].map((t) => fullTopicName(t, prefix)),
    );
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
    await request(server()).delete('/emulator/settings');
  });

  describe('tokens as a real LMS issues them (oauth_dispatch)', () => {
    const header = (jwt: string) =>
      JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()) as { alg: string };
    const claimsOf = (jwt: string) =>
      JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    const ask = (form: Record<string, string>) =>
      request(server())
        .post('/oauth2/access_token')
        .type('form')
        .send({
          grant_type: 'client_credentials',
          client_id: 'groups-sync',
          client_secret: 'groups-sync-secret',
          token_type: 'jwt',
          ...form,
        });

    it('signs HS256 with its secret unless asymmetric_jwt is asked for, then RS512 from the key it publishes', async () => {
      const symmetric = (await ask({})).body.access_token as string;
      expect(header(symmetric).alg).toBe('HS256');
      // The service user of the application, default scopes (read write email profile): `administrator` with profile.
      expect(claimsOf(symmetric)).toMatchObject({
        preferred_username: 'groups_sync_worker',
        grant_type: 'client-credentials',
        administrator: true,
        scopes: ['read', 'write', 'email', 'profile'],
      });
      expect(claimsOf(symmetric)).not.toHaveProperty('roles');
      const asymmetric = (await ask({ asymmetric_jwt: 'true' })).body.access_token as string;
      expect(header(asymmetric).alg).toBe('RS512');
      // Both are accepted by its own APIs.
      for (const token of [symmetric, asymmetric])
        expect(
          (
            await request(server())
              .get(cohorts(COURSE))
              .set({ authorization: `JWT ${token}` })
          ).status,
        ).toBe(200);
    });

    it('answers invalid_scope for user_groups:* scopes, which an unmodified LMS does not have', async () => {
      const res = await ask({ scope: 'read write user_groups:write' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_scope' });
    });

    it("answers a user's own course roles on the roles API, and no one else's; user tokens carry no course role", async () => {
      const [teacher, learner] = await learners([unique('teacher'), unique('learner')]);
      const teacherToken = (await fixture('tokens', { username: teacher.username, course_staff: [COURSE] }))
        .access_token as string;
      expect(claimsOf(teacherToken)).not.toHaveProperty('roles');
      const mine = await request(server())
        .get('/api/enrollment/v1/roles/')
        .set({ authorization: `JWT ${teacherToken}` });
      expect(mine.status).toBe(200);
      expect(mine.body).toEqual({ roles: [{ org: 'EmuX', course_id: COURSE, role: 'staff' }], is_staff: false });
      const learnerToken = (await fixture('tokens', { username: learner.username })).access_token as string;
      expect(
        (
          await request(server())
            .get('/api/enrollment/v1/roles/')
            .set({ authorization: `JWT ${learnerToken}` })
        ).body,
      ).toEqual({ roles: [], is_staff: false });
      expect((await request(server()).get('/api/enrollment/v1/roles/')).status).toBe(401);
    });
  });

  describe('refusals as edx-platform answers them', () => {
    it("401 and 403 bodies: developer_message on the cohorts API, DRF detail on the accounts API, with JwtAuthentication's challenge", async () => {
      const anonymous = await request(server()).get(cohorts(COURSE));
      expect({
        status: anonymous.status,
        body: anonymous.body,
        challenge: anonymous.headers['www-authenticate'],
      }).toEqual({
        status: 401,
        body: { developer_message: 'Authentication credentials were not provided.' },
        challenge: 'JWT realm="api"',
      });
      const forged = await request(server()).get(cohorts(COURSE)).set({ authorization: 'JWT a.b.c' });
      expect({ status: forged.status, body: forged.body }).toEqual({
        status: 401,
        body: { developer_message: 'Invalid token.' },
      });
      const accounts = await request(server()).get('/api/user/v1/accounts?username=x');
      expect({ status: accounts.status, body: accounts.body }).toEqual({
        status: 401,
        body: { detail: 'Authentication credentials were not provided.' },
      });
    });

    it('search_emails is for staff: anyone else gets its 404', async () => {
      const [learner] = await learners([unique('searcher')]);
      const token = (await fixture('tokens', { username: learner.username })).access_token;
      const res = await request(server())
        .post('/api/user/v1/accounts/search_emails')
        .set({ authorization: `JWT ${token}` })
        .send({ emails: [`${learner.username}@example.com`] });
      expect({ status: res.status, body: res.body }).toEqual({
        status: 404,
        body: { developer_message: 'not_found', user_message: 'Not Found' },
      });
      const staff = await request(server())
        .post('/api/user/v1/accounts/search_emails')
        .set(asStaff())
        .send({ emails: [`${learner.username}@example.com`] });
      expect(staff.body).toEqual([
        { email: `${learner.username}@example.com`, id: learner.id, username: learner.username },
      ]);
    });

    it('throttles the enrollment API at 120 requests a minute for a staff user (40 for others): 429 with Retry-After', async () => {
      const [admin, learner] = await learners([unique('throttled'), unique('throttled')]);
      const token = (await fixture('tokens', { username: admin.username, administrator: true })).access_token;
      const call = () =>
        request(server())
          .get(`/api/enrollment/v1/enrollments/?course_id=${encodeURIComponent(COURSE)}`)
          .set({ authorization: `JWT ${token}` });
      for (let i = 0; i < 120; i++) expect((await call()).status).toBe(200);
      const throttled = await call();
      expect(throttled.status).toBe(429);
      expect(throttled.body.detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds\.$/);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      const learnerToken = (await fixture('tokens', { username: learner.username })).access_token;
      const roles = () =>
        request(server())
          .get('/api/enrollment/v1/roles/')
          .set({ authorization: `JWT ${learnerToken}` });
      for (let i = 0; i < 40; i++) expect((await roles()).status).toBe(200);
      expect((await roles()).status).toBe(429);
    });
  });

  describe('who may call the cohorts API', () => {
    it('answers 403 to a valid token of a user who is not global staff, on cohorts and settings, and keeps the accounts API open to it', async () => {
      const [learner] = await learners([unique('learner')]);
      const token = (await fixture('tokens', { username: learner.username })).access_token;
      for (const call of [
        () => request(server()).get(cohorts(COURSE)),
        () => request(server()).post(cohorts(COURSE)).send({ name: 'x', assignment_type: 'manual' }),
        () => request(server()).get(`/api/cohorts/v1/settings/${COURSE}`),
        () => request(server()).put(`/api/cohorts/v1/settings/${COURSE}`).send({ is_cohorted: false }),
      ]) {
        const res = await call().set(asStaff(token));
        expect(res.status).toBe(403);
        expect(res.body).toEqual(NOT_ALLOWED);
      }
      expect((await request(server()).get(`/api/cohorts/v1/settings/${COURSE}`).set(asStaff())).body.is_cohorted).toBe(
        true,
      );
      expect(
        (await request(server()).get(`/api/user/v1/accounts?username=${learner.username}`).set(asStaff(token))).status,
      ).toBe(200);
      expect((await request(server()).get(cohorts(COURSE))).status).toBe(401);
      expect((await request(server()).get(`/api/user/v1/accounts?username=${learner.username}`)).status).toBe(401);
    });

    it('lets in global staff (the administrator claim) and the OAuth2 client, by JWT or opaque bearer token', async () => {
      const [admin] = await learners([unique('admin')]);
      const adminToken = (await fixture('tokens', { username: admin.username, administrator: true })).access_token;
      for (const authorization of [
        `JWT ${adminToken}`,
        `JWT ${await clientToken('jwt')}`,
        `Bearer ${await clientToken('bearer')}`,
      ]) {
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
        () =>
          request(server())
            .patch(cohorts(unknown, String(cohortId)))
            .send({ name: 'Renamed' }),
        () => request(server()).get(cohorts(unknown, `${cohortId}/users/`)),
        () =>
          request(server())
            .post(cohorts(unknown, `${cohortId}/users/`))
            .send({ users: [learner.username] }),
        () => request(server()).delete(cohorts(unknown, `${cohortId}/users/${learner.username}`)),
        () => request(server()).get(`/api/cohorts/v1/settings/${unknown}`),
        () => request(server()).put(`/api/cohorts/v1/settings/${unknown}`).send({ is_cohorted: true }),
        // The course is looked up first: what else is wrong with the request does not matter.
        () => request(server()).put(`/api/cohorts/v1/settings/${unknown}`).send({}),
        () => request(server()).post(cohorts(unknown)).send({}),
      ];
      for (const call of calls) {
        const res = await call().set(asStaff());
        expect({ status: res.status, body: res.body }).toEqual({
          status: 404,
          body: { developer_message: `Course not found: ${unknown}.`, error_code: 'course-not-found' },
        });
      }
      expect(await db.query('SELECT id FROM course_groups_courseusergroup WHERE course_id = ?', [unknown])).toEqual([]);
      expect(
        await db.query('SELECT id FROM course_groups_coursecohortssettings WHERE course_id = ?', [unknown]),
      ).toEqual([]);
    });
  });

  describe('cohort settings', () => {
    it('round-trips is_cohorted through GET and PUT (and PATCH), and refuses a missing or non-boolean value', async () => {
      const course = `course-v1:EmuX+Settings+${suffix}`;
      expect(await fixture('courses', { course_id: course, cohorted: false })).toEqual({
        course_id: course,
        is_cohorted: false,
      });
      const settings = `/api/cohorts/v1/settings/${course}`;
      const read = await request(server()).get(settings).set(asStaff());
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ id: expect.any(Number), is_cohorted: false });
      const put = await request(server()).put(settings).set(asStaff()).send({ is_cohorted: true });
      expect({ status: put.status, body: put.body }).toEqual({
        status: 200,
        body: { id: read.body.id, is_cohorted: true },
      });
      expect((await request(server()).get(settings).set(asStaff())).body).toEqual({
        id: read.body.id,
        is_cohorted: true,
      });
      const patched = await request(server()).patch(settings).set(asStaff()).send({ is_cohorted: false });
      expect({ status: patched.status, body: patched.body }).toEqual({
        status: 200,
        body: { id: read.body.id, is_cohorted: false },
      });
      const missing = await request(server()).put(settings).set(asStaff()).send({});
      expect({ status: missing.status, code: missing.body.error_code }).toEqual({
        status: 400,
        code: 'missing-is_cohorted',
      });
      const notBoolean = await request(server()).put(settings).set(asStaff()).send({ is_cohorted: 'yes' });
      expect({ status: notBoolean.status, code: notBoolean.body.error_code }).toEqual({
        status: 400,
        code: 'error-setting-is_cohorted',
      });
      expect((await request(server()).get(settings).set(asStaff())).body.is_cohorted).toBe(false);
      // The fixture is idempotent: a course it knows keeps its settings.
      expect(await fixture('courses', { course_id: course, cohorted: true })).toEqual({
        course_id: course,
        is_cohorted: false,
      });
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
      const isCohorted = async (course: string) =>
        (await request(server()).get(`/api/cohorts/v1/settings/${course}`).set(asStaff())).body.is_cohorted;
      expect([await isCohorted(plain), await isCohorted(uncohorted)]).toEqual([true, false]);
      expect((await request(server()).get(cohorts(uncohorted)).set(asStaff())).status).toBe(200);
    });

    it('enrolls 1,000 learners in one call, and makes their course known', async () => {
      const course = `course-v1:EmuX+Bulk+${suffix}`;
      const people = await learners(Array.from({ length: 1000 }, () => unique('bulk')));
      const body = await fixture('enrollments', {
        enrollments: people.map((p) => ({ username: p.username, course_id: course, mode: 'verified' })),
      });
      expect(body.enrollments).toHaveLength(1000);
      const [{ count }] = await db.query(
        `SELECT COUNT(*) AS count FROM student_courseenrollment WHERE course_id = ? AND is_active = 1 AND mode = 'verified'`,
        [course],
      );
      expect(Number(count)).toBe(1000);
      expect((await request(server()).get(`/api/cohorts/v1/settings/${course}`).set(asStaff())).body.is_cohorted).toBe(
        true,
      );
      const unknown = await request(server())
        .post('/emulator/enrollments')
        .send({ enrollments: [{ username: unique('nobody'), course_id: course }] });
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
        key: ana.username,
        data: {
          user: {
            id: ana.id,
            is_active: true,
            pii: { username: ana.username, email: `${ana.username}@example.com`, name: ana.username },
          },
        },
      });
      expect(
        (
          await request(server())
            .post('/emulator/logins')
            .send({ username: unique('nobody') })
        ).status,
      ).toBe(400);
    });

    it('a grade that is new or different sends PERSISTENT_GRADE_SUMMARY_CHANGED keyed by course; the same grade again, or setting last_login, sends nothing', async () => {
      const [ben, marker] = await learners([unique('graded'), unique('marker')]);
      const put = (body: object) => request(server()).put('/emulator/learner-data').send(body).expect(200);
      await put({ username: ben.username, grades: { [COURSE]: 80 } });
      await put({ username: ben.username, grades: { [COURSE]: 80 }, last_login: new Date().toISOString() });
      await put({ username: ben.username, grades: { [COURSE]: 60 } });
      // Events are sent in the order they fired: once the marker's is in, any of ben's before it are too.
      await put({ username: marker.username, grades: { [COURSE]: 90 } });
      await expectEventually(async () =>
        expect(await sentAbout(EventType.PersistentGradeSummaryChanged, marker.id)).toHaveLength(1),
      );
      const sent = await sentAbout(EventType.PersistentGradeSummaryChanged, ben.id);
      expect(
        sent.map((e) => [e.key, (e as DecodedEvent<EventType.PersistentGradeSummaryChanged>).data.grade.percent_grade]),
      ).toEqual([
        [COURSE, 0.8],
        [COURSE, 0.6],
      ]);
      expect((sent[0] as DecodedEvent<EventType.PersistentGradeSummaryChanged>).data.grade).toMatchObject({
        user_id: ben.id,
        course: { course_key: COURSE },
        letter_grade: 'Pass',
      });
      // Passed once, the time stays: both events carry the first pass's time.
      const passedAt = sent.map(
        (e) => (e as DecodedEvent<EventType.PersistentGradeSummaryChanged>).data.grade.passed_timestamp,
      );
      expect(passedAt[0]).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(passedAt[1]).toBe(passedAt[0]);
      expect(await sentAbout(EventType.SessionLoginCompleted, ben.id)).toEqual([]);
    });

    it('sends no grade event for a learner who has not passed (passed_timestamp None cannot be serialized: the LMS logs and drops it)', async () => {
      const [failing, marker] = await learners([unique('failing'), unique('marker')]);
      const put = (body: object) => request(server()).put('/emulator/learner-data').send(body).expect(200);
      await put({ username: failing.username, grades: { [COURSE]: 30 } });
      await put({ username: failing.username, grades: { [COURSE]: 45 } });
      await put({ username: marker.username, grades: { [COURSE]: 95 } });
      await expectEventually(async () =>
        expect(await sentAbout(EventType.PersistentGradeSummaryChanged, marker.id)).toHaveLength(1),
      );
      expect(await sentAbout(EventType.PersistentGradeSummaryChanged, failing.id)).toEqual([]);
      // The grade itself is written: criteria read it on their schedule.
      expect(
        Number(
          (await db.query('SELECT percent_grade FROM grades_persistentcoursegrade WHERE user_id = ?', [failing.id]))[0]
            .percent_grade,
        ),
      ).toBeCloseTo(0.45);
    });

    it("drop: a learner's login is written but its event is not sent", async () => {
      const [dropped, control] = await learners([unique('nologin'), unique('login')]);
      await request(server())
        .put('/emulator/faults')
        .send({ drop_events_for: [dropped.username] })
        .expect(200);
      await fixture('logins', { username: dropped.username });
      await fixture('logins', { username: control.username });
      await expectEventually(async () =>
        expect(await sentAbout(EventType.SessionLoginCompleted, control.id)).toHaveLength(1),
      );
      expect(await sentAbout(EventType.SessionLoginCompleted, dropped.id)).toEqual([]);
      expect(
        (await db.query('SELECT last_login FROM auth_user WHERE id = ?', [dropped.id]))[0].last_login,
      ).not.toBeNull();
    });
  });

  describe('enrollments: events and the enrollment API', () => {
    const enrollmentTypes = [
      EventType.CourseEnrollmentChanged,
      EventType.CourseEnrollmentCreated,
      EventType.CourseUnenrollmentCompleted,
    ];
    /** The enrollment events put on Kafka for one course, in the order they were produced (across both topics). */
    function producedFor(send: jest.SpyInstance, course: string) {
      return Promise.all(
        send.mock.calls
          .flat(2)
          .filter((m) => enrollmentTypes.includes(m.headers.ce_type))
          .map((m) => codec.decode(m.value, m.headers, m.key)),
      ).then(
        (events) => events.filter((e) => e.key === course) as Array<DecodedEvent<EventType.CourseEnrollmentChanged>>,
      );
    }
    const post = (path: string, body: object) => request(server()).post(`/emulator/enrollments${path}`).send(body);

    it("sends CHANGED then CREATED for a new enrollment and a reactivation, CHANGED alone for a mode change, CHANGED then UNENROLLMENT_COMPLETED for an unenrollment, each with the enrollment's state", async () => {
      const course = `course-v1:EmuX+Enroll+${suffix}`;
      const [ana] = await learners([unique('enroll')]);
      const send = jest.spyOn(app.get(MessageProducer), 'send');
      expect((await post('', { username: ana.username, course_id: course })).status).toBe(201); // new, audit
      expect((await post('/mode', { username: ana.username, course_id: course, mode: 'verified' })).body).toEqual({
        user_id: ana.id,
        course_id: course,
        mode: 'verified',
        is_active: true,
      });
      await post('/mode', { username: ana.username, course_id: course, mode: 'verified' }); // no change: nothing
      expect((await post('/unenroll', { username: ana.username, course_id: course })).body).toEqual({
        user_id: ana.id,
        course_id: course,
        mode: 'verified',
        is_active: false,
      });
      await post('/unenroll', { username: ana.username, course_id: course }); // already inactive: nothing
      await post('', { username: ana.username, course_id: course, mode: 'verified' }); // reactivation
      const expected = [
        [EventType.CourseEnrollmentChanged, 'audit', true],
        [EventType.CourseEnrollmentCreated, 'audit', true],
        [EventType.CourseEnrollmentChanged, 'verified', true],
        [EventType.CourseEnrollmentChanged, 'verified', false],
        [EventType.CourseUnenrollmentCompleted, 'verified', false],
        [EventType.CourseEnrollmentChanged, 'verified', true],
        [EventType.CourseEnrollmentCreated, 'verified', true],
      ];
      const produced = await expectEventually(async () => {
        const events = await producedFor(send, course);
        expect(events.map((e) => [e.type, e.data.enrollment.mode, e.data.enrollment.is_active])).toEqual(expected);
        return events;
      });
      const [{ created }] = await db.query(
        'SELECT created FROM student_courseenrollment WHERE user_id = ? AND course_id = ?',
        [ana.id, course],
      );
      for (const event of produced) {
        expect(event.data.enrollment).toEqual({
          user: {
            id: ana.id,
            is_active: true,
            pii: { username: ana.username, email: `${ana.username}@example.com`, name: ana.username },
          },
          course: { course_key: course, display_name: '', start: null, end: null },
          mode: event.data.enrollment.mode,
          is_active: event.data.enrollment.is_active,
          creation_date: new Date(created).toISOString(),
          created_by: null,
        });
      }
      // And on Kafka, keyed by course: the lifecycle topic holds all but the unenrollment, in order; the unenrollment topic that one.
      await expectEventually(async () => {
        const events = (await Promise.all(reader.messages.map((m) => codec.decode(m.value, m.headers, m.key)))).filter(
          (e) => e.key === course,
        );
        expect(events.filter((e) => e.type !== EventType.CourseUnenrollmentCompleted).map((e) => e.type)).toEqual(
          expected.map(([t]) => t).filter((t) => t !== EventType.CourseUnenrollmentCompleted),
        );
        expect(events.filter((e) => e.type === EventType.CourseUnenrollmentCompleted)).toHaveLength(1);
      });
    });

    it("drop: a learner's enrollment changes are written but none of their events is sent", async () => {
      const course = `course-v1:EmuX+EnrollDrop+${suffix}`;
      const [dropped] = await learners([unique('nodrop')]);
      await request(server())
        .put('/emulator/faults')
        .send({ drop_events_for: [dropped.username] })
        .expect(200);
      const send = jest.spyOn(app.get(MessageProducer), 'send');
      await post('', { username: dropped.username, course_id: course });
      await post('/mode', { username: dropped.username, course_id: course, mode: 'verified' });
      await post('/unenroll', { username: dropped.username, course_id: course });
      expect(
        await db.query('SELECT mode, is_active FROM student_courseenrollment WHERE user_id = ?', [dropped.id]),
      ).toEqual([{ mode: 'verified', is_active: 0 }]);
      expect(await producedFor(send, course)).toEqual([]);
    });

    it('the unenroll and mode fixtures refuse a learner who was never enrolled, and an unknown user', async () => {
      const [ana] = await learners([unique('never')]);
      for (const [path, body] of [
        ['/unenroll', {}],
        ['/mode', { mode: 'verified' }],
      ] as const) {
        const res = await post(path, { username: ana.username, course_id: COURSE, ...body });
        expect({ status: res.status, body: res.body }).toEqual({
          status: 400,
          body: { course_id: [`${ana.username} is not enrolled in ${COURSE}.`] },
        });
        expect((await post(path, { username: unique('nobody'), course_id: COURSE, ...body })).status).toBe(400);
      }
    });

    it("GET /api/enrollment/v1/enrollments/ lists a course's enrollments, active or not, with modes, 100 a page newest first, following cursor links", async () => {
      const course = `course-v1:EmuX+EnrollList+${suffix}`;
      const people = await learners(Array.from({ length: 150 }, () => unique('track')));
      await fixture('enrollments', {
        enrollments: people.map((p, i) => ({
          username: p.username,
          course_id: course,
          mode: i % 3 ? 'audit' : 'verified',
        })),
      });
      await post('/unenroll', { username: people[0].username, course_id: course }).expect(200);
      const list = (url: string, token = staffToken) =>
        request(server())
          .get(url)
          .set({ Authorization: `JWT ${token}` });
      const first = await list(`/api/enrollment/v1/enrollments/?course_id=${encodeURIComponent(course)}`);
      expect(first.status).toBe(200);
      expect(Object.keys(first.body)).toEqual(['next', 'previous', 'results']);
      expect(first.body.results).toHaveLength(100);
      expect(first.body.previous).toBeNull();
      expect(first.body.results[0]).toEqual({
        created: expect.stringMatching(/Z$/),
        mode: expect.any(String),
        is_active: true,
        user: expect.any(String),
        course_id: course,
      });
      const next = new URL(first.body.next);
      expect(next.searchParams.get('course_id')).toBe(course);
      const second = await list(next.pathname + next.search);
      expect(second.body.results).toHaveLength(50);
      expect(second.body.next).toBeNull();
      const back = new URL(second.body.previous);
      expect((await list(back.pathname + back.search)).body.results).toEqual(first.body.results);
      const all = [...first.body.results, ...second.body.results];
      expect(new Set(all.map((e) => e.user)).size).toBe(150);
      const byUser = new Map(all.map((e) => [e.user, e]));
      expect(people.map((p, i) => [byUser.get(p.username).mode, byUser.get(p.username).is_active])).toEqual(
        people.map((_, i) => [i % 3 ? 'audit' : 'verified', i !== 0]),
      );
      expect(all.map((e) => e.created)).toEqual([...all.map((e) => e.created)].sort().reverse());
      // page_size (up to 100), other filters, and the opaque client token.
      expect(
        (await list(`/api/enrollment/v1/enrollments?course_id=${encodeURIComponent(course)}&page_size=20`)).body
          .results,
      ).toHaveLength(20);
      const two = await request(server())
        .get(
          `/api/enrollment/v1/enrollments?course_id=${encodeURIComponent(course)}&username=${people[1].username},${people[2].username}`,
        )
        .set({ Authorization: `Bearer ${await clientToken('bearer')}` });
      expect(two.body.results.map((e: { user: string }) => e.user).sort()).toEqual(
        [people[1].username, people[2].username].sort(),
      );
    });

    it('the enrollment API answers as edx-platform does: global staff only, a bad course id 400 with field_errors, an unknown course no results', async () => {
      const [learner] = await learners([unique('notstaff')]);
      const learnerToken = (await fixture('tokens', { username: learner.username })).access_token;
      const url = `/api/enrollment/v1/enrollments?course_id=${encodeURIComponent(COURSE)}`;
      const denied = await request(server())
        .get(url)
        .set({ Authorization: `JWT ${learnerToken}` });
      expect({ status: denied.status, body: denied.body }).toEqual({
        status: 403,
        body: { developer_message: 'You do not have permission to perform this action.' },
      });
      const anonymous = await request(server()).get(url);
      expect({ status: anonymous.status, body: anonymous.body }).toEqual({
        status: 401,
        body: { developer_message: 'Authentication credentials were not provided.' },
      });
      const bad = await request(server()).get('/api/enrollment/v1/enrollments?course_id=1').set(asStaff());
      expect({ status: bad.status, body: bad.body }).toEqual({
        status: 400,
        body: { field_errors: { course_id: { developer_message: "'1' is not a valid course id." } } },
      });
      const unknown = await request(server())
        .get(`/api/enrollment/v1/enrollments?course_id=${encodeURIComponent(`course-v1:EmuX+Nowhere+${suffix}`)}`)
        .set(asStaff());
      expect({ status: unknown.status, body: unknown.body }).toEqual({
        status: 200,
        body: { next: null, previous: null, results: [] },
      });
      expect((await request(server()).get(`${url}&cursor=bogus`).set(asStaff())).status).toBe(404);
    });
  });

  describe('teams API', () => {
    const course = `course-v1:EmuX+Teams+${suffix}`;
    const teamsConfiguration = {
      max_team_size: 2,
      topics: [
        { id: 'open-set', name: 'Open set', description: 'Pick a team', max_team_size: 1 },
        { id: 'public-set', name: 'Public set', type: 'public_managed' },
        { id: 'private-set', name: 'Private set', type: 'private_managed' },
      ],
    };
    let client: string;
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    const api = (method: 'get' | 'post' | 'patch' | 'delete', path: string, token: string) =>
      request(server())[method](`/api/team/v0/${path}`).set(bearer(token));
    /** Learners enrolled in the course (mode audit unless given), with their opaque tokens. */
    async function enrolled(count: number, base = 'teamer', mode = 'audit') {
      const people = await learners(Array.from({ length: count }, () => unique(base)));
      await fixture('enrollments', {
        enrollments: people.map((p) => ({ username: p.username, course_id: course, mode })),
      });
      return Promise.all(
        people.map(async (p) => ({
          ...p,
          token: (await fixture('tokens', { username: p.username, token_type: 'bearer' })).access_token as string,
        })),
      );
    }
    async function team(topicId: string, name = unique('Team')) {
      const res = await api('post', 'teams/', client).send({
        course_id: course,
        topic_id: topicId,
        name,
        description: `${name} description`,
      });
      expect(res.status).toBe(200);
      return res.body as { id: string; name: string };
    }
    const join = (teamId: string, username: string, token = client) =>
      api('post', 'team_membership/', token).send({ team_id: teamId, username });
    const members = async (teamId: string) =>
      (await api('get', `teams/${teamId}`, client)).body.membership.map(
        (m: { user: { username: string } }) => m.user.username,
      );
    /** Status and body; null for the empty body of a DRF view's bare `Response(status=...)`. */
    const refusal = (res: request.Response) => ({ status: res.status, body: res.text === '' ? null : res.body });
    const apiError = (message: string) => ({ developer_message: message, user_message: message });

    beforeAll(async () => {
      const made = await fixture('courses', { course_id: course, teams_configuration: teamsConfiguration });
      expect(made.teams_configuration).toEqual({
        enabled: true,
        max_team_size: 2,
        team_sets: [
          {
            id: 'open-set',
            name: 'Open set',
            description: 'Pick a team',
            max_team_size: 1,
            type: 'open',
            user_partition_id: null,
          },
          {
            id: 'public-set',
            name: 'Public set',
            description: '',
            max_team_size: null,
            type: 'public_managed',
            user_partition_id: null,
          },
          {
            id: 'private-set',
            name: 'Private set',
            description: '',
            max_team_size: null,
            type: 'private_managed',
            user_partition_id: null,
          },
        ],
      });
      client = await clientToken('bearer');
    });

    it('authenticates as the teams views do today: opaque Bearer tokens only (a JWT is refused, Bearer or JWT scheme), unless teams_api_accepts_jwt is on', async () => {
      const topics = `topics/?course_id=${encodeURIComponent(course)}`;
      expect((await request(server()).get(`/api/team/v0/${topics}`).set(bearer(client))).status).toBe(200);
      const jwtAsBearer = await request(server()).get(`/api/team/v0/${topics}`).set(bearer(staffToken));
      expect(refusal(jwtAsBearer)).toEqual({
        status: 401,
        body: {
          error_code: 'token_nonexistent',
          developer_message: 'The provided access token does not match any valid tokens.',
        },
      });
      expect(jwtAsBearer.headers['www-authenticate']).toBe('Bearer realm="api"');
      for (const headers of [asStaff(), {}]) {
        expect(refusal(await request(server()).get(`/api/team/v0/${topics}`).set(headers))).toEqual({
          status: 401,
          body: { detail: 'Authentication credentials were not provided.' },
        });
      }
      expect(refusal(await request(server()).get(`/api/team/v0/${topics}`).set({ Authorization: 'Bearer' }))).toEqual({
        status: 401,
        body: { error_code: 'token_not_provided', developer_message: 'Invalid token header. No credentials provided.' },
      });
      await request(server()).put('/emulator/settings').send({ teams_api_accepts_jwt: true }).expect(200);
      expect((await request(server()).get(`/api/team/v0/${topics}`).set(asStaff())).status).toBe(200);
    });

    it("lists the teamsets as topics by name with edx-platform's fields, hiding private_managed ones from learners not on their teams", async () => {
      const [ana] = await enrolled(1);
      const asStaffClient = await api('get', `topics/?course_id=${encodeURIComponent(course)}`, client);
      expect(asStaffClient.body).toEqual({
        next: null,
        previous: null,
        count: 3,
        num_pages: 1,
        current_page: 1,
        start: 0,
        sort_order: 'name',
        results: [
          {
            description: 'Pick a team',
            name: 'Open set',
            id: 'open-set',
            type: 'open',
            max_team_size: 1,
            team_count: expect.any(Number),
          },
          {
            description: '',
            name: 'Private set',
            id: 'private-set',
            type: 'private_managed',
            max_team_size: null,
            team_count: expect.any(Number),
          },
          {
            description: '',
            name: 'Public set',
            id: 'public-set',
            type: 'public_managed',
            max_team_size: null,
            team_count: expect.any(Number),
          },
        ],
      });
      expect(
        (await api('get', `topics/?course_id=${encodeURIComponent(course)}`, ana.token)).body.results.map(
          (t: { id: string }) => t.id,
        ),
      ).toEqual(['open-set', 'public-set']);
      expect(refusal(await api('get', 'topics/', client))).toEqual({
        status: 400,
        body: { field_errors: { course_id: apiError('The supplied course id None is not valid.') } },
      });
      expect(
        (await api('get', `topics/?course_id=${encodeURIComponent(`course-v1:EmuX+Nowhere+${suffix}`)}`, client))
          .status,
      ).toBe(404);
    });

    it('creates teams: course staff in any teamset without joining, a learner in an open teamset only (joining it), once per teamset', async () => {
      const [ana, ben] = await enrolled(2);
      const managed = await api('post', 'teams/', client).send({
        course_id: course,
        topic_id: 'public-set',
        name: 'Blue Team',
        description: 'Managed',
      });
      expect(managed.body).toEqual({
        id: expect.stringMatching(/^blue-team-[0-9a-f]{32}$/),
        discussion_topic_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        name: 'Blue Team',
        course_id: course,
        topic_id: 'public-set',
        date_created: expect.any(String),
        description: 'Managed',
        country: '',
        language: '',
        last_activity_at: expect.any(String),
        membership: [],
        organization_protected: false,
      });
      expect(managed.body.id.endsWith(managed.body.discussion_topic_id)).toBe(true);
      const own = await api('post', 'teams/', ana.token).send({
        course_id: course,
        topic_id: 'open-set',
        name: 'A really long team name',
        description: 'Mine',
      });
      expect(own.body.id).toMatch(/^a-really-long-team-n-/);
      expect(own.body.membership).toEqual([
        {
          user: {
            url: expect.stringMatching(new RegExp(`/api/user/v1/accounts/${ana.username}$`)),
            username: ana.username,
          },
          date_joined: expect.any(String),
          last_activity_at: expect.any(String),
        },
      ]);
      expect(
        refusal(
          await api('post', 'teams/', ana.token).send({
            course_id: course,
            topic_id: 'open-set',
            name: 'Second',
            description: 'x',
          }),
        ),
      ).toEqual({ status: 400, body: apiError('You are already in a team in this teamset.') });
      expect(
        refusal(
          await api('post', 'teams/', ben.token).send({
            course_id: course,
            topic_id: 'public-set',
            name: 'Mine',
            description: 'x',
          }),
        ),
      ).toEqual({ status: 403, body: apiError("You can't create a team in an instructor managed topic.") });
      expect(
        refusal(
          await api('post', 'teams/', ben.token).send({
            course_id: course,
            topic_id: 'private-set',
            name: 'Mine',
            description: 'x',
          }),
        ),
      ).toEqual({ status: 404, body: null });
      expect(
        refusal(await api('post', 'teams/', client).send({ course_id: course, name: 'No set', description: 'x' })),
      ).toEqual({ status: 400, body: { field_errors: { topic_id: apiError('topic_id is required') } } });
      const blank = await api('post', 'teams/', client).send({
        course_id: course,
        topic_id: 'open-set',
        name: '',
        description: 'x',
      });
      expect(refusal(blank)).toEqual({
        status: 400,
        body: {
          field_errors: {
            name: {
              developer_message: "Value '' is not valid for field 'name': ['This field may not be blank.']",
              user_message: 'This value is invalid.',
            },
          },
        },
      });
      const [outsider] = await learners([unique('outsider')]);
      const outsiderToken = (await fixture('tokens', { username: outsider.username, token_type: 'bearer' }))
        .access_token;
      expect(
        (
          await api('post', 'teams/', outsiderToken).send({
            course_id: course,
            topic_id: 'open-set',
            name: 'X',
            description: 'x',
          })
        ).status,
      ).toBe(403);
    });

    it("adds a member with edx-platform's membership shape, and refuses a learner not enrolled, one already on a team of the teamset, and an unknown team or user", async () => {
      const [ana] = await enrolled(1);
      const [stranger] = await learners([unique('stranger')]);
      const [first, second] = [await team('open-set'), await team('open-set')];
      const added = await join(first.id, ana.username);
      expect(refusal(added)).toEqual({
        status: 200,
        body: {
          user: {
            url: expect.stringMatching(
              new RegExp(`^http://127\\.0\\.0\\.1:\\d+/api/user/v1/accounts/${ana.username}$`),
            ),
            username: ana.username,
          },
          team: { url: expect.stringMatching(new RegExp(`/api/team/v0/teams/${first.id}$`)), team_id: first.id },
          date_joined: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
          last_activity_at: expect.any(String),
        },
      });
      expect(refusal(await join(second.id, ana.username))).toEqual({
        status: 400,
        body: apiError(`The user ${ana.username} is already a member of a team in this teamset.`),
      });
      expect(refusal(await join(first.id, stranger.username))).toEqual({
        status: 400,
        body: apiError(`The user ${stranger.username} is not enrolled in the course associated with this team.`),
      });
      expect(refusal(await join('no-such-team', ana.username))).toEqual({ status: 404, body: null });
      expect(refusal(await join(first.id, unique('nobody')))).toEqual({ status: 404, body: null });
      expect(refusal(await api('post', 'team_membership/', client).send({}))).toEqual({
        status: 400,
        body: {
          field_errors: { username: apiError('Username is required.'), team_id: apiError('Team id is required.') },
        },
      });
      expect(await members(first.id)).toEqual([ana.username]);
      expect(await members(second.id)).toEqual([]);
    });

    it("fills a team to the course's max_team_size, which the membership API checks instead of the teamset's (views.py, TODO MST-32)", async () => {
      const [ana, ben, cy] = await enrolled(3);
      const small = await team('open-set'); // the teamset says 1, the course 2
      expect((await join(small.id, ana.username)).status).toBe(200);
      expect((await join(small.id, ben.username)).status).toBe(200);
      expect(refusal(await join(small.id, cy.username))).toEqual({
        status: 400,
        body: apiError('This team is already full.'),
      });
      expect(await members(small.id)).toEqual([ana.username, ben.username]);
      expect(
        (await db.query('SELECT team_size FROM teams_courseteam WHERE team_id = ?', [small.id]))[0].team_size,
      ).toBe(2);
    });

    it("lets only course staff (global staff or the course's staff role) put learners on, or take them off, managed teams", async () => {
      const [ana, ben] = await enrolled(2);
      const [teacher] = await learners([unique('teacher')]);
      const teacherToken = (
        await fixture('tokens', { username: teacher.username, token_type: 'bearer', course_staff: [course] })
      ).access_token;
      const managed = await team('public-set');
      expect(refusal(await join(managed.id, ana.username, ana.token))).toEqual({
        status: 403,
        body: apiError("You can't join an instructor managed team."),
      });
      expect(refusal(await join(managed.id, ben.username, ana.token))).toEqual({ status: 404, body: null }); // a learner adds only themselves
      expect((await join(managed.id, ana.username, teacherToken)).status).toBe(200);
      expect((await join(managed.id, ben.username, client)).status).toBe(200);
      expect(refusal(await api('delete', `team_membership/${managed.id},${ana.username}`, ana.token))).toEqual({
        status: 403,
        body: apiError("You can't leave an instructor managed team."),
      });
      expect(
        (await api('delete', `team_membership/${managed.id},${ana.username}?admin=true`, teacherToken)).status,
      ).toBe(204);
      expect(await members(managed.id)).toEqual([ben.username]);
      // In an open teamset learners join and leave on their own.
      const open = await team('open-set');
      expect((await join(open.id, ana.username, ana.token)).status).toBe(200);
      expect((await api('delete', `team_membership/${open.id},${ana.username}`, ana.token)).status).toBe(204);
    });

    it('lists memberships by team, by teamset and course, or by username, 10 a page; deletes one (204), then 404', async () => {
      const people = await enrolled(2);
      const [ana, ben] = people;
      const [blue, red] = [await team('open-set'), await team('open-set')];
      await join(blue.id, ana.username);
      await join(red.id, ben.username);
      const byTeam = await api('get', `team_membership/?team_id=${blue.id}`, client);
      expect(byTeam.body).toEqual({
        next: null,
        previous: null,
        count: 1,
        num_pages: 1,
        current_page: 1,
        start: 0,
        results: [
          {
            user: { url: expect.any(String), username: ana.username },
            team: { url: expect.any(String), team_id: blue.id },
            date_joined: expect.any(String),
            last_activity_at: expect.any(String),
          },
        ],
      });
      const bySet = await api(
        'get',
        `team_membership/?teamset_id=open-set&course_id=${encodeURIComponent(course)}&page_size=1`,
        client,
      );
      expect(bySet.body).toMatchObject({ num_pages: bySet.body.count, current_page: 1 });
      expect(new URL(bySet.body.next).searchParams.get('page')).toBe('2');
      expect(
        (
          await api(
            'get',
            `team_membership/?username=${ben.username}&course_id=${encodeURIComponent(course)}`,
            ben.token,
          )
        ).body.results.map((m: { team: { team_id: string } }) => m.team.team_id),
      ).toEqual([red.id]);
      expect(refusal(await api('get', 'team_membership/?teamset_id=open-set', client))).toEqual({
        status: 400,
        body: apiError('teamset_id requires course_id to also be provided.'),
      });
      expect(refusal(await api('get', 'team_membership/', client))).toEqual({
        status: 400,
        body: apiError('username or (team_id or teamset_id) must be specified.'),
      });
      expect(refusal(await api('get', 'team_membership/?team_id=no-such-team', client))).toEqual({
        status: 404,
        body: null,
      });
      expect(refusal(await api('delete', `team_membership/${blue.id},${ana.username}`, ben.token))).toEqual({
        status: 404,
        body: null,
      }); // not ben's to remove
      expect((await api('delete', `team_membership/${blue.id},${ana.username}`, client)).status).toBe(204);
      expect(refusal(await api('delete', `team_membership/${blue.id},${ana.username}`, client))).toEqual({
        status: 404,
        body: { detail: 'Not found.' },
      });
      expect(refusal(await api('delete', `team_membership/no-such-team,${ana.username}`, client))).toEqual({
        status: 404,
        body: { detail: 'Not found.' },
      });
    });

    it("lists a course's teams by name, 10 a page, learners not seeing private_managed teams they are not on", async () => {
      const [ana] = await enrolled(1);
      const hidden = await team('private-set');
      const listed = await api('get', `teams/?course_id=${encodeURIComponent(course)}&topic_id=private-set`, client);
      expect(listed.body).toMatchObject({ sort_order: 'name', current_page: 1, start: 0 });
      expect(listed.body.results.map((t: { id: string }) => t.id)).toContain(hidden.id);
      expect(
        (await api('get', `teams/?course_id=${encodeURIComponent(course)}&topic_id=private-set`, ana.token)).body
          .results,
      ).toEqual([]);
      const all = await api('get', `teams/?course_id=${encodeURIComponent(course)}&page_size=100`, client);
      const names = all.body.results.map((t: { name: string }) => t.name);
      expect(names).toEqual([...names].sort((a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase())));
      expect(refusal(await api('get', 'teams/', client))).toEqual({
        status: 400,
        body: apiError('course_id must be provided'),
      });
      expect(refusal(await api('get', `teams/?course_id=${encodeURIComponent(course)}&topic_id=nope`, client))).toEqual(
        { status: 400, body: apiError('The supplied topic id nope is not valid') },
      );
      expect(
        refusal(await api('get', `teams/?course_id=${encodeURIComponent(`course-v1:EmuX+Nowhere+${suffix}`)}`, client)),
      ).toEqual({ status: 404, body: null });
    });

    it('reads a team, PATCHes it as course staff with merge-patch JSON only, deletes it with its memberships; an unknown team is 404', async () => {
      const [ana] = await enrolled(1);
      const green = await team('open-set', 'Green');
      await join(green.id, ana.username);
      expect(refusal(await api('get', 'teams/no-such-team', client))).toEqual({
        status: 404,
        body: { detail: 'No CourseTeam matches the given query.' },
      });
      expect((await api('get', `teams/${green.id}`, ana.token)).body).toMatchObject({
        id: green.id,
        name: 'Green',
        membership: [{ user: { username: ana.username } }],
      });
      const asJson = await api('patch', `teams/${green.id}`, client).send({ name: 'Lime' });
      expect(refusal(asJson)).toEqual({
        status: 415,
        body: { detail: 'Unsupported media type "application/json" in request.' },
      });
      const patch = (body: object, token = client) =>
        api('patch', `teams/${green.id}`, token)
          .set('Content-Type', 'application/merge-patch+json')
          .send(JSON.stringify(body));
      expect(refusal(await patch({ name: 'Lime' }, ana.token))).toEqual({
        status: 403,
        body: { detail: 'You do not have permission to perform this action.' },
      });
      expect((await patch({ name: 'Lime', description: 'Renamed' })).body).toMatchObject({
        id: green.id,
        name: 'Lime',
        description: 'Renamed',
      });
      expect(refusal(await patch({ course_id: 'x' }))).toEqual({
        status: 400,
        body: {
          field_errors: {
            course_id: { developer_message: 'This field is not editable', user_message: 'This field is not editable' },
          },
        },
      });
      expect((await api('delete', `teams/${green.id}`, ana.token)).status).toBe(403);
      expect((await api('delete', `teams/${green.id}`, client)).status).toBe(204);
      expect((await api('get', `teams/${green.id}`, client)).status).toBe(404);
      expect(
        await db.query(
          'SELECT m.id FROM teams_courseteammembership m JOIN auth_user u ON u.id = m.user_id WHERE u.id = ?',
          [ana.id],
        ),
      ).toEqual([]);
    });

    describe('proposed team membership events', () => {
      /** Team events on Kafka about one course, in topic order. */
      async function teamEvents(courseKey = course) {
        const read = reader.messages.filter((m) => m.topic === fullTopicName(Topic.LmsTeamMembership, prefix));
        const events = await Promise.all(
          read.map(async (m) => ({
            message: m,
            event: (await codec.decode(m.value, m.headers, m.key)) as DecodedEvent<EventType.TeamMembershipAdded>,
          })),
        );
        return events.filter(({ event }) => event.key === courseKey);
      }
      const summary = (events: Awaited<ReturnType<typeof teamEvents>>) =>
        events.map(({ event }) => [
          event.type,
          event.data.team_membership.user.pii.username,
          event.data.team_membership.team.team_id,
        ]);

      it('are sent only while emit_team_events is on, on every add and removal (API, fixture, team deletion), framed and keyed like the cohort events', async () => {
        const [ana, ben, cy] = await enrolled(3);
        const quiet = await team('open-set');
        await join(quiet.id, ana.username); // switched off: nothing
        expect((await request(server()).get('/emulator/settings')).body).toEqual({
          emit_team_events: false,
          emit_cohort_removal_events: false,
          teams_api_accepts_jwt: false,
        });
        await request(server()).put('/emulator/settings').send({ emit_team_events: true }).expect(200);
        const loud = await team('open-set', 'Loud');
        await join(loud.id, ben.username); // API
        await request(server())
          .post('/emulator/team-memberships')
          .send({ team_id: loud.id, username: cy.username })
          .expect(201); // fixture
        await api('delete', `team_membership/${loud.id},${ben.username}`, ben.token).expect(204); // API, by the learner
        await api('delete', `teams/${loud.id}`, client).expect(204); // the team, with cy
        const expected = [
          [EventType.TeamMembershipAdded, ben.username, loud.id],
          [EventType.TeamMembershipAdded, cy.username, loud.id],
          [EventType.TeamMembershipRemoved, ben.username, loud.id],
          [EventType.TeamMembershipRemoved, cy.username, loud.id],
        ];
        // One key (the course), so one partition: once these are in, an earlier event of ana's would be too.
        const events = await expectEventually(async () => {
          const sent = await teamEvents();
          expect(summary(sent).filter(([, , teamId]) => teamId === loud.id)).toEqual(expected);
          return sent;
        });
        expect(summary(events).filter(([, username]) => username === ana.username)).toEqual([]);
        const { message, event } = events.find(({ event: e }) => e.data.team_membership.team.team_id === loud.id)!;
        expect(event.data.team_membership).toEqual({
          user: {
            id: ben.id,
            is_active: true,
            pii: { username: ben.username, email: `${ben.username}@example.com`, name: ben.username },
          },
          course: { course_key: course, display_name: '', start: null, end: null },
          team: { team_id: loud.id, name: 'Loud', teamset_id: 'open-set' },
          changed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/),
        });
        // Framing as event-bus-kafka's (and our cohort events'): Confluent magic byte, Avro string key, CloudEvents headers.
        expect(message.value![0]).toBe(0);
        expect(message.headers).toMatchObject({
          ce_type: EventType.TeamMembershipAdded,
          ce_source: 'openedx/lms/web',
          ce_specversion: '1.0',
          'content-type': 'application/avro',
        });
        await request(server())
          .post(cohorts(COURSE, `${await createCohort()}/users/`))
          .set(asStaff())
          .send({ users: [ana.username] })
          .expect(200);
        const [cohortEvent] = await expectEventually(async () => {
          const sent = await sentFor(ana.username);
          expect(sent).toHaveLength(1);
          return sent;
        });
        const cohortMessage = reader.messages.find((m) => m.headers.ce_id === cohortEvent.metadata.id)!;
        expect(Object.keys(message.headers).sort()).toEqual(Object.keys(cohortMessage.headers).sort());
        expect(message.key!.subarray(0, 1)).toEqual(cohortMessage.key!.subarray(0, 1));
      });

      it('honour the drop fault: the membership is written, its event not sent', async () => {
        const [dropped, control] = await enrolled(2);
        await request(server()).put('/emulator/settings').send({ emit_team_events: true }).expect(200);
        await request(server())
          .put('/emulator/faults')
          .send({ drop_events_for: [dropped.username] })
          .expect(200);
        const target = await team('open-set');
        await join(target.id, dropped.username).expect(200);
        await join(target.id, control.username).expect(200);
        await expectEventually(async () =>
          expect(summary(await teamEvents()).filter(([, u]) => u === control.username)).toHaveLength(1),
        );
        expect(summary(await teamEvents()).filter(([, u]) => u === dropped.username)).toEqual([]);
        expect(await members(target.id)).toEqual([dropped.username, control.username]);
      });
    });
  });

  describe('cohort memberships', () => {
    it('takes a learner added to two cohorts at once as get_or_create does: both 200, one membership, in one of them', async () => {
      const [a, b] = await Promise.all(
        ['Race A', 'Race B'].map(
          async (name) =>
            (
              await request(server())
                .post(cohorts(COURSE))
                .set(asStaff())
                .send({ name: unique(name), assignment_type: 'manual' })
                .expect(200)
            ).body.id as number,
        ),
      );
      const racers = await learners(Array.from({ length: 15 }, (_, i) => unique(`racer${i}`)));
      for (const racer of racers) {
        const answers = await Promise.all(
          [a, b].map((id) =>
            request(server())
              .post(cohorts(COURSE, `${id}/users`))
              .set(asStaff())
              .send({ users: [racer.username] }),
          ),
        );
        expect(answers.map((r) => r.status)).toEqual([200, 200]);
        const rows = await db.query(
          'SELECT course_user_group_id AS id FROM course_groups_cohortmembership WHERE user_id = ? AND course_id = ?',
          [racer.id, COURSE],
        );
        expect(rows).toHaveLength(1);
        expect([a, b]).toContain(Number(rows[0].id));
      }
    });
  });

  describe('5xx answers', () => {
    it("log their cause: a duplicate cohort name answers Django's bare 500 (add_cohort's ValueError)", async () => {
      const error = jest.spyOn(Logger.prototype, 'error');
      const name = unique('Twice');
      await request(server())
        .post(cohorts(COURSE))
        .set(asStaff())
        .send({ name, assignment_type: 'manual' })
        .expect(200);
      const again = await request(server())
        .post(cohorts(COURSE))
        .set(asStaff())
        .send({ name, assignment_type: 'manual' });
      expect({ status: again.status, body: again.text }).toEqual({ status: 500, body: '<h1>Server Error (500)</h1>' });
      expect(error).toHaveBeenCalledWith(
        expect.stringContaining(
          `500 on POST ${cohorts(COURSE)}: ValueError: You cannot create two cohorts with the same name`,
        ),
        expect.anything(),
      );
    });
  });

  describe('event faults', () => {
    it("drop: the add commits but the learner's event never reaches Kafka, and says so in the log", async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const [dropped, control] = await learners([unique('dropped'), unique('control')]);
      const set = await request(server())
        .put('/emulator/faults')
        .send({ drop_events_for: [dropped.username.toUpperCase()] });
      expect(set.status).toBe(200);
      expect((await request(server()).get('/emulator/faults')).body).toEqual({
        drop_events_share: 0,
        drop_events_for: [dropped.username.toUpperCase()],
        rollback_after_emit_for: [],
        fail_adds_for: [],
      });
      const cohortId = await createCohort();
      const added = await request(server())
        .post(cohorts(COURSE, `${cohortId}/users/`))
        .set(asStaff())
        .send({ users: [dropped.username, control.username] });
      expect(added.status).toBe(200);
      expect(added.body.added).toHaveLength(2);
      expect(await membership(dropped.id)).toEqual([{ course_user_group_id: cohortId }]);
      // Events are sent in the order their signals fired: once the control's is in, the dropped one's would be.
      await expectEventually(async () => expect(await sentFor(control.username)).toHaveLength(1));
      expect(await sentFor(dropped.username)).toEqual([]);
      // By id: usernames stay out of warn logs.
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(new RegExp(`user ${dropped.id} .*dropped by fault injection`)),
      );
      // Cleared, the learner's next change is sent again.
      expect((await request(server()).delete('/emulator/faults')).status).toBe(204);
      await request(server())
        .post(cohorts(COURSE, `${await createCohort()}/users/`))
        .set(asStaff())
        .send({ users: [dropped.username] });
      await expectEventually(async () => expect(await sentFor(dropped.username)).toHaveLength(1));
    });

    it('rollback after emit: the event is sent, the add answers 500 with its cause logged, and no membership is written', async () => {
      const error = jest.spyOn(Logger.prototype, 'error');
      const [phantom] = await learners([unique('phantom')]);
      await request(server())
        .put('/emulator/faults')
        .send({ rollback_after_emit_for: [phantom.username] })
        .expect(200);
      const cohortId = await createCohort();
      const added = await request(server())
        .post(cohorts(COURSE, `${cohortId}/users/`))
        .set(asStaff())
        .send({ users: [phantom.username] });
      expect(added.status).toBe(500);
      const [event] = await expectEventually(async () => {
        const sent = await sentFor(phantom.username);
        expect(sent).toHaveLength(1);
        return sent;
      });
      expect(event.key).toBe(COURSE);
      expect(await membership(phantom.id)).toEqual([]);
      expect(error).toHaveBeenCalledWith(
        expect.stringContaining(`500 on POST ${cohorts(COURSE, `${cohortId}/users/`)}: rollback after emit`),
        expect.anything(),
      );
    });
  });
});
