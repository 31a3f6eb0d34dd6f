import { CourseRoles } from '../course-roles';
import { CourseRole, CourseRoleName, Principal } from '../principal';

const NAMES: readonly CourseRoleName[] = ['course_staff', 'course_instructor'];

/**
 * For tests whose tokens come from a TokenMinter rather than an LMS: course roles written into the
 * token as `roles: ["course_staff:<course key>"]` (split at the first colon: course keys have colons).
 * A real LMS sends no such claim; services read roles from the LMS (LmsCourseRoles).
 */
export class ClaimCourseRoles extends CourseRoles {
  async of(_principal: Principal, _token: string, claims: Record<string, unknown>): Promise<CourseRole[]> {
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    return roles.flatMap((entry) => {
      const at = entry.indexOf(':');
      const role = entry.slice(0, at) as CourseRoleName;
      return at > 0 && NAMES.includes(role) ? [{ role, courseKey: entry.slice(at + 1) }] : [];
    });
  }
}

/** Makes an app's guard read course roles from test tokens (see ClaimCourseRoles). */
export function courseRolesFromClaims(app: { get(token: unknown): unknown }): void {
  const roles = app.get(CourseRoles) as CourseRoles;
  roles.of = ClaimCourseRoles.prototype.of;
}
