import { ScopeType } from '@groups-sync/contracts';
import { AuthErrorCode, AuthException } from './auth.exception';
import {
  Access,
  assertCanManageScope,
  assertRetirementWorker,
  canManageScope,
  parseServiceUsers,
  principalFromClaims,
} from './principal';
import { ClaimCourseRoles } from './testing/claim-course-roles';
import { courseStaffClaims, globalStaffClaims, lmsUserClaims, serviceClaims } from './testing/lms-claims';

const COURSE = 'course-v1:DemoX+Sync+2026';
const OTHER_COURSE = 'course-v1:DemoX+Other+2026';

describe('principalFromClaims', () => {
  it('reads the user id, username and scopes of an LMS user token', () => {
    const principal = principalFromClaims(lmsUserClaims());
    expect(principal).toEqual({
      userId: 42,
      username: 'learner',
      isGlobalStaff: false,
      courseRoles: [],
      scopes: ['user_id', 'email', 'profile'],
      isService: false,
      serviceAccess: null,
      isRestricted: false,
      contentOrgs: [],
    });
  });

  it('treats the administrator claim as global staff', () => {
    expect(principalFromClaims(globalStaffClaims()).isGlobalStaff).toBe(true);
  });

  it('does not treat a truthy non-boolean administrator claim as global staff', () => {
    expect(principalFromClaims(lmsUserClaims({ administrator: 'true' })).isGlobalStaff).toBe(false);
  });

  it('leaves the user id null when the token was minted without the user_id scope', () => {
    const { user_id: _omitted, ...claims } = lmsUserClaims();
    expect(principalFromClaims(claims).userId).toBeNull();
  });

  it('takes no course role from the token: the LMS puts none there (its `roles` are edx-rbac roles)', () => {
    expect(
      principalFromClaims(lmsUserClaims({ roles: [`course_instructor:${COURSE}`, `course_staff:${COURSE}`] }))
        .courseRoles,
    ).toEqual([]);
  });

  it('marks a client_credentials token as a service, in either spelling of the grant (the LMS writes client-credentials)', () => {
    expect(principalFromClaims(serviceClaims(['user_groups:read'])).isService).toBe(true);
    expect(principalFromClaims(serviceClaims([], { grant_type: 'client-credentials' })).isService).toBe(true);
  });

  it('admits a service user listed in SERVICE_USERS by its username, with the access listed', () => {
    const users = parseServiceUsers('groups_sync_worker, reporting:read');
    expect(principalFromClaims(serviceClaims([], { preferred_username: 'groups_sync_worker' }), users)).toMatchObject({
      isService: true,
      serviceAccess: 'write',
    });
    expect(principalFromClaims(lmsUserClaims({ preferred_username: 'reporting' }), users)).toMatchObject({
      isService: true,
      serviceAccess: 'read',
    });
    // A client id claim names no service user: only the username does.
    expect(
      principalFromClaims(serviceClaims([], { preferred_username: 'other', client_id: 'groups_sync_worker' }), users)
        .serviceAccess,
    ).toBeNull();
    expect(principalFromClaims(serviceClaims([], { preferred_username: 'other' }), users).serviceAccess).toBeNull();
  });

  it('refuses a SERVICE_USERS entry with an access it does not know', () => {
    expect(() => parseServiceUsers('worker:admin')).toThrow(/worker:admin/);
  });

  it('marks a token that names no user as a service', () => {
    expect(principalFromClaims({ scopes: ['user_groups:read'] }).isService).toBe(true);
  });

  it('reads a space-separated scope claim when there is no scopes list', () => {
    expect(principalFromClaims({ scope: 'user_groups:read user_groups:write' }).scopes).toEqual([
      'user_groups:read',
      'user_groups:write',
    ]);
  });

  it('collects the organizations of content_org filters of a restricted token', () => {
    const principal = principalFromClaims(
      serviceClaims([], { is_restricted: true, filters: ['content_org:DemoX', 'user:me', 'content_org:OtherX'] }),
    );
    expect(principal.isRestricted).toBe(true);
    expect(principal.contentOrgs).toEqual(['DemoX', 'OtherX']);
  });
});

const SERVICE_USERS_OF_TESTS = parseServiceUsers('writer_worker:write,reporting:read');
/** As the guard makes it: the service users of the tests, course roles as the test tokens carry them. */
async function principalOf(claims: Record<string, unknown>) {
  const principal = principalFromClaims(claims, SERVICE_USERS_OF_TESTS);
  principal.courseRoles = await new ClaimCourseRoles().of(principal, '', claims);
  return principal;
}

describe('canManageScope', () => {
  const cases: [string, Record<string, unknown>, ScopeType, string, Access, boolean][] = [
    ['global staff may write groups of any course', globalStaffClaims(), 'course', OTHER_COURSE, 'write', true],
    ['global staff may write instance-wide groups', globalStaffClaims(), 'instance', '', 'write', true],
    ['global staff may write organization groups', globalStaffClaims(), 'org', 'DemoX', 'write', true],
    ['course staff may write groups of their own course', courseStaffClaims(COURSE), 'course', COURSE, 'write', true],
    ['course staff may read groups of their own course', courseStaffClaims(COURSE), 'course', COURSE, 'read', true],
    [
      'a course instructor may write groups of their own course',
      courseStaffClaims(COURSE, 'course_instructor'),
      'course',
      COURSE,
      'write',
      true,
    ],
    [
      'course staff may not read groups of another course',
      courseStaffClaims(COURSE),
      'course',
      OTHER_COURSE,
      'read',
      false,
    ],
    [
      'course staff may not write groups of their organization',
      courseStaffClaims(COURSE),
      'org',
      'DemoX',
      'write',
      false,
    ],
    ['course staff may not write instance-wide groups', courseStaffClaims(COURSE), 'instance', '', 'write', false],
    [
      'a service with user_groups:write may write any group',
      serviceClaims(['user_groups:write']),
      'instance',
      '',
      'write',
      true,
    ],
    [
      'a service with user_groups:write may also read',
      serviceClaims(['user_groups:write']),
      'course',
      COURSE,
      'read',
      true,
    ],
    ['a service with user_groups:read may read', serviceClaims(['user_groups:read']), 'course', COURSE, 'read', true],
    [
      'a service with only user_groups:read may not write',
      serviceClaims(['user_groups:read']),
      'course',
      COURSE,
      'write',
      false,
    ],
    [
      'a service without a user_groups scope may not read',
      serviceClaims(['email', 'profile']),
      'course',
      COURSE,
      'read',
      false,
    ],
    [
      'a service whose user is staff still needs a user_groups scope or SERVICE_USERS',
      serviceClaims(['profile'], { preferred_username: 'unlisted', administrator: true }),
      'course',
      COURSE,
      'read',
      false,
    ],
    [
      'a service user listed with write may write any group, no scope needed',
      serviceClaims(['read', 'write', 'email', 'profile'], {
        preferred_username: 'writer_worker',
        grant_type: 'client-credentials',
      }),
      'instance',
      '',
      'write',
      true,
    ],
    [
      'a service user listed read-only may read',
      serviceClaims([], { preferred_username: 'reporting' }),
      'course',
      COURSE,
      'read',
      true,
    ],
    [
      'a service user listed read-only may not write',
      serviceClaims([], { preferred_username: 'reporting' }),
      'course',
      COURSE,
      'write',
      false,
    ],
    ['a learner may not read groups of a course', lmsUserClaims(), 'course', COURSE, 'read', false],
    [
      'a learner holding user_groups:write is still not allowed to write',
      lmsUserClaims({ scopes: ['user_groups:write'] }),
      'course',
      COURSE,
      'write',
      false,
    ],
    [
      "a restricted application with the scope and its org filter may write that org's course",
      serviceClaims(['user_groups:write'], { is_restricted: true, filters: ['content_org:DemoX'] }),
      'course',
      COURSE,
      'write',
      true,
    ],
    [
      'a restricted application may not write a course of another org',
      serviceClaims(['user_groups:write'], { is_restricted: true, filters: ['content_org:OtherX'] }),
      'course',
      COURSE,
      'write',
      false,
    ],
    [
      'a restricted application acting for a staff user gets no staff rights',
      globalStaffClaims({ is_restricted: true, filters: ['content_org:DemoX'] }),
      'course',
      COURSE,
      'read',
      false,
    ],
    [
      'a restricted application may not write instance-wide groups',
      serviceClaims(['user_groups:write'], { is_restricted: true, filters: ['content_org:DemoX'] }),
      'instance',
      '',
      'write',
      false,
    ],
  ];

  it.each(cases)('%s', async (_name, claims, scopeType, scopeKey, needed, allowed) => {
    expect(canManageScope(await principalOf(claims), scopeType, scopeKey, needed)).toBe(allowed);
  });
});

describe('assertCanManageScope', () => {
  it('throws FORBIDDEN_SCOPE, a forbidden error, when access is denied', () => {
    const learner = principalFromClaims(lmsUserClaims());
    let error: unknown;
    try {
      assertCanManageScope(learner, 'course', COURSE, 'write');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthException);
    expect(error).toMatchObject({
      code: AuthErrorCode.ForbiddenScope,
      kind: 'forbidden',
      details: { scope_type: 'course', scope_key: COURSE, needed: 'write' },
    });
  });

  it('returns quietly when access is allowed', async () => {
    const staff = await principalOf(courseStaffClaims(COURSE));
    expect(() => assertCanManageScope(staff, 'course', COURSE, 'write')).not.toThrow();
  });

  it('answers 503 (roles unavailable), not 403, when the LMS could not say whether a user is course staff', () => {
    const learner = { ...principalFromClaims(lmsUserClaims()), courseRolesUnavailable: true };
    expect(() => assertCanManageScope(learner, 'course', COURSE, 'write')).toThrow(
      expect.objectContaining({ code: AuthErrorCode.RolesUnavailable, kind: 'unavailable' }),
    );
    expect(() => assertCanManageScope(learner, 'instance', '', 'write')).toThrow(
      expect.objectContaining({ code: AuthErrorCode.ForbiddenScope }),
    );
  });
});

describe('assertRetirementWorker', () => {
  const worker = 'retirement_service_worker';
  it("lets the retirement pipeline's service worker through", () => {
    expect(() =>
      assertRetirementWorker(principalFromClaims(serviceClaims([], { preferred_username: worker })), worker),
    ).not.toThrow();
  });

  it.each([
    ['global staff', globalStaffClaims()],
    ['a service with user_groups:write', serviceClaims(['user_groups:write'])],
    ['a restricted application of the worker', serviceClaims([], { preferred_username: worker, is_restricted: true })],
    ['a token naming no user', { scopes: [] }],
  ])('refuses %s with FORBIDDEN_SCOPE', (_name, claims) => {
    expect(() => assertRetirementWorker(principalFromClaims(claims), worker)).toThrow(
      expect.objectContaining({ code: AuthErrorCode.ForbiddenScope, kind: 'forbidden' }),
    );
  });
});
