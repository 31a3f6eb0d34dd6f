import { AuthErrorCode, LmsCourseRoles, Principal, principalFromClaims } from '@groups-sync/auth';
import { dropDatabase } from '@groups-sync/persistence';
import { http, ServiceProcess, stackEnv, testPort, uniqueSuffix } from '@groups-sync/testing';

const COURSE = 'course-v1:RolesX+Course+2026';

/** Course roles as the LMS knows them (student_courseaccessrole), through its roles API and through its database. */
describe('LmsCourseRoles against the LMS (emulator)', () => {
  const env = stackEnv();
  const database = `lms_roles_${uniqueSuffix()}_test`;
  const lms = new ServiceProcess(
    'lms-emulator',
    testPort(120),
    {
      ...env,
      DB_NAME: database,
      EVENT_BUS_TOPIC_PREFIX: `it-${uniqueSuffix()}`,
      LOG_LEVEL: 'warn',
      LMS_EMULATOR_TEST_PEER: 'true',
    },
    `roles-${uniqueSuffix()}`,
  );

  beforeAll(() => lms.start(), 120_000);
  afterAll(async () => {
    await lms.stop();
    await dropDatabase(env.MYSQL_URL, database);
  });

  async function user(username: string, courseStaff: string[] = []): Promise<{ principal: Principal; token: string }> {
    await http('POST', `${lms.url}/emulator/users`, { username });
    const token = (await http('POST', `${lms.url}/emulator/tokens`, { username, course_staff: courseStaff })).body
      .access_token as string;
    return {
      principal: principalFromClaims(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())),
      token,
    };
  }

  it("reads a user's course roles from the roles API with the user's own token", async () => {
    const { principal, token } = await user('rita', [COURSE]);
    expect(await new LmsCourseRoles({ LMS_BASE_URL: lms.url }).of(principal, token)).toEqual([
      { role: 'course_staff', courseKey: COURSE },
    ]);
    const learner = await user('lena');
    expect(await new LmsCourseRoles({ LMS_BASE_URL: lms.url }).of(learner.principal, learner.token)).toEqual([]);
  });

  it('reads them from student_courseaccessrole through a read-only database connection, instructors and limited staff too', async () => {
    const { principal, token } = await user('ivan', [COURSE]);
    const db = `${env.MYSQL_URL.replace(/\/$/, '')}/${database}`;
    const roles = new LmsCourseRoles({ LMS_DB_URL: db });
    try {
      expect(await roles.of(principal, token)).toEqual([{ role: 'course_staff', courseKey: COURSE }]);
      const other = await user('ida');
      const { createConnection } = await import('mysql2/promise');
      const conn = await createConnection({ uri: db });
      const [[row]] = (await conn.query("SELECT id FROM auth_user WHERE username = 'ida'")) as unknown as [
        [{ id: number }],
      ];
      await conn.query(
        "INSERT INTO student_courseaccessrole (org, course_id, role, user_id) VALUES ('RolesX', ?, 'instructor', ?), ('RolesX', ?, 'limited_staff', ?), ('RolesX', ?, 'beta_testers', ?)",
        [COURSE, row.id, 'course-v1:RolesX+Limited+2026', row.id, 'course-v1:RolesX+Beta+2026', row.id],
      );
      await conn.end();
      expect(await roles.of(other.principal, other.token)).toEqual([
        { role: 'course_instructor', courseKey: COURSE },
        { role: 'course_staff', courseKey: 'course-v1:RolesX+Limited+2026' },
      ]);
    } finally {
      await roles.close();
    }
  });

  it('keeps the last roles the LMS gave while it cannot answer, and says it cannot when it never did', async () => {
    const { principal, token } = await user('carl', [COURSE]);
    const roles = new LmsCourseRoles({ LMS_BASE_URL: lms.url, COURSE_ROLES_CACHE_SECONDS: 0 });
    expect(await roles.of(principal, token)).toHaveLength(1);
    const down = new LmsCourseRoles({ LMS_BASE_URL: 'http://127.0.0.1:9', COURSE_ROLES_CACHE_SECONDS: 0 });
    await expect(down.of(principal, token)).rejects.toMatchObject({
      code: AuthErrorCode.RolesUnavailable,
      kind: 'unavailable',
    });
    // The same instance, its LMS now gone: the stale roles serve.
    (roles as unknown as { settings: { LMS_BASE_URL: string } }).settings.LMS_BASE_URL = 'http://127.0.0.1:9';
    expect(await roles.of(principal, token)).toEqual([{ role: 'course_staff', courseKey: COURSE }]);
  });
});
