import { http } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

/**
 * The services trust the LMS as an unmodified LMS issues and knows its users: HS256 tokens (its
 * default) and RS512 ones, its JWT cookies, its service user without custom scopes, and course
 * roles read from the LMS (its roles API), none of them from a token claim.
 */
describe("the LMS's own tokens, cookies, service user and course roles", () => {
  const system = new System(110);
  const OTHER_COURSE = 'course-v1:DemoX+Other+2026';

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 120_000);

  const userToken = async (username: string, extra: Record<string, unknown> = {}) => {
    await system.learner(username);
    const res = await http('POST', `${system.lmsEmulator.url}/emulator/tokens`, { username, ...extra });
    return res.body.access_token as string;
  };
  const createGroup = (
    token: string,
    course: string,
    name: string,
    headers: Record<string, string> = { authorization: `JWT ${token}` },
  ) =>
    http(
      'POST',
      `${system.groupsService.url}/api/user-groups/v1/groups`,
      { scope_type: 'course', scope_key: course, name, kind: 'manual' },
      headers,
    );

  it("admits the OAuth client's HS256 token (no user_groups scope) as the service user, and its RS512 token too", async () => {
    const token = await system.accessToken();
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg).toBe('HS256');
    expect((await createGroup(token, COURSE, 'By the service')).status).toBe(201);
    const rs = await fetch(`${system.lmsEmulator.url}/oauth2/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'groups-sync',
        client_secret: 'groups-sync-secret',
        token_type: 'jwt',
        asymmetric_jwt: '1',
      }),
    });
    const asymmetric = ((await rs.json()) as { access_token: string }).access_token;
    expect(JSON.parse(Buffer.from(asymmetric.split('.')[0], 'base64url').toString()).alg).toBe('RS512');
    expect((await system.sync('GET', '/status')).status).toBe(200);
    expect(
      (
        await http('GET', `${system.legacySync.url}/api/legacy-sync/v1/status`, undefined, {
          authorization: `JWT ${asymmetric}`,
        })
      ).status,
    ).toBe(200);
  });

  it("lets a user the LMS makes course staff manage the groups of that course only, by the LMS's roles, not the token's", async () => {
    const teacher = await userToken('tess', { course_staff: [COURSE] });
    expect(JSON.parse(Buffer.from(teacher.split('.')[1], 'base64url').toString())).not.toHaveProperty('roles');
    expect((await createGroup(teacher, COURSE, 'By the teacher')).status).toBe(201);
    const other = await createGroup(teacher, OTHER_COURSE, 'Not hers');
    expect(other.status).toBe(403);
    const learner = await userToken('lou');
    expect((await createGroup(learner, COURSE, 'By a learner')).status).toBe(403);
  });

  it("authenticates a browser by the LMS's two JWT cookies, and takes its writes only with the CSRF token", async () => {
    const teacher = await userToken('tom', { course_staff: [COURSE] });
    const [h, p, sig] = teacher.split('.');
    const cookies = `edx-jwt-cookie-header-payload=${h}.${p}; edx-jwt-cookie-signature=${sig}`;
    const csrf = await fetch(`${system.groupsService.url}/csrf/api/v1/token`, { headers: { cookie: cookies } });
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    expect(csrf.headers.get('set-cookie')).toContain(`csrftoken=${csrfToken}`);
    const withCookies = { cookie: `${cookies}; csrftoken=${csrfToken}` };
    expect((await createGroup('', COURSE, 'By cookie, no CSRF', withCookies)).status).toBe(403);
    expect((await createGroup('', COURSE, 'By cookie', { ...withCookies, 'x-csrftoken': csrfToken })).status).toBe(201);
    const list = await http(
      'GET',
      `${system.groupsService.url}/api/user-groups/v1/groups?scope_key=${encodeURIComponent(COURSE)}`,
      undefined,
      withCookies,
    );
    expect(list.status).toBe(200);
  });
});
