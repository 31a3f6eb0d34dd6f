/** Claims as the LMS mints them for a learner who granted the `user_id`, `email` and `profile` scopes. */
export function lmsUserClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    preferred_username: 'learner',
    user_id: 42,
    sub: 'f4c1a2b3d4e5f60718293a4b5c6d7e8f',
    email: 'learner@example.com',
    email_verified: true,
    name: 'A Learner',
    given_name: 'A',
    family_name: 'Learner',
    administrator: false,
    superuser: false,
    scopes: ['user_id', 'email', 'profile'],
    filters: [],
    is_restricted: false,
    grant_type: 'password',
    version: '1.2.0',
    ...overrides,
  };
}

export const globalStaffClaims = (overrides: Record<string, unknown> = {}) =>
  lmsUserClaims({ preferred_username: 'staff', user_id: 3, administrator: true, ...overrides });

/** Our `roles` convention: `course_staff:<course key>` / `course_instructor:<course key>`. */
export const courseStaffClaims = (courseKey: string, role: 'course_staff' | 'course_instructor' = 'course_staff') =>
  lmsUserClaims({ preferred_username: 'teacher', user_id: 7, roles: [`${role}:${courseKey}`] });

/** A backend service's client_credentials token: no profile claims unless the `profile` scope was granted. */
export const serviceClaims = (scopes: string[], overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  // Not the SERVICE_USERS default (groups_sync_worker): a service judged by its scopes unless a test lists it.
  preferred_username: 'some_service_worker',
  sub: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  email_verified: true,
  scopes,
  filters: [],
  is_restricted: false,
  grant_type: 'client_credentials',
  version: '1.2.0',
  ...overrides,
});
