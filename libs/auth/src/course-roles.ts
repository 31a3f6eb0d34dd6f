import { Logger } from '@nestjs/common';
import { createPool, Pool } from 'mysql2/promise';
import { JwtAuthSettings } from './auth.config';
import { AuthErrorCode, AuthException } from './auth.exception';
import { CourseRole, CourseRoleName, Principal } from './principal';

/** Where a caller's course roles come from; the guard asks once per request for a plain user. */
export abstract class CourseRoles {
  abstract of(principal: Principal, token: string, claims: Record<string, unknown>): Promise<CourseRole[]>;
}

/**
 * edx-platform's rule for who may manage a course's cohorts (course_groups' permissions, IsStaffOrAdmin):
 * CourseInstructorRole or CourseStaffRole, which CourseLimitedStaffRole inherits. Forum roles may
 * only read there; they are not in student_courseaccessrole and are not admitted here.
 */
const MANAGING_ROLES: Record<string, CourseRoleName> = {
  instructor: 'course_instructor',
  staff: 'course_staff',
  limited_staff: 'course_staff',
};

export function courseRolesFromLms(rows: Array<{ course_id: string; role: string }>): CourseRole[] {
  return rows
    .filter((r) => MANAGING_ROLES[r.role] && r.course_id)
    .map((r) => ({ role: MANAGING_ROLES[r.role], courseKey: r.course_id }));
}

const TIMEOUT_MS = 5000;

/**
 * A user's course roles from the LMS, cached briefly (COURSE_ROLES_CACHE_SECONDS, 60 s): through the
 * read-only database path when LMS_DB_URL is set (student_courseaccessrole), else the LMS's roles API
 * (`GET /api/enrollment/v1/roles/`, which answers for its caller: called with the caller's own JWT).
 * While the LMS cannot answer, the last roles it gave are used; with none, the request gets 503.
 */
export class LmsCourseRoles extends CourseRoles {
  private readonly logger = new Logger(LmsCourseRoles.name);
  private readonly cache = new Map<string, { at: number; roles: CourseRole[] }>();
  private pool?: Pool;
  private readonly ttlMs: number;

  constructor(
    private readonly settings: Pick<JwtAuthSettings, 'LMS_BASE_URL' | 'LMS_DB_URL' | 'COURSE_ROLES_CACHE_SECONDS'>,
  ) {
    super();
    this.ttlMs = (settings.COURSE_ROLES_CACHE_SECONDS ?? 60) * 1000;
  }

  async of(principal: Principal, token: string): Promise<CourseRole[]> {
    const username = principal.username;
    if (!username) return [];
    const cached = this.cache.get(username);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.roles;
    try {
      const roles = courseRolesFromLms(
        this.settings.LMS_DB_URL ? await this.fromDatabase(username) : await this.fromApi(token),
      );
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(username, { at: Date.now(), roles });
      return roles;
    } catch (error) {
      this.logger.warn(
        `course roles of ${principal.userId ?? 'a user'} could not be read from the LMS: ${(error as Error).message}`,
      );
      if (cached) return cached.roles;
      throw new AuthException(
        AuthErrorCode.RolesUnavailable,
        'your course roles could not be read from the LMS; try again later',
      );
    }
  }

  private async fromDatabase(username: string): Promise<Array<{ course_id: string; role: string }>> {
    this.pool ??= createPool({
      uri: this.settings.LMS_DB_URL,
      connectionLimit: 2,
      connectTimeout: TIMEOUT_MS,
      queueLimit: 100,
    });
    const [rows] = await this.pool.query(
      {
        sql: `SELECT r.course_id, r.role FROM student_courseaccessrole r JOIN auth_user u ON u.id = r.user_id
        WHERE u.username = ? AND r.role IN ('instructor', 'staff', 'limited_staff') AND r.course_id <> ''`,
        timeout: TIMEOUT_MS,
      },
      [username],
    );
    return rows as Array<{ course_id: string; role: string }>;
  }

  private async fromApi(token: string): Promise<Array<{ course_id: string; role: string }>> {
    if (!this.settings.LMS_BASE_URL) return [];
    const res = await fetch(new URL('/api/enrollment/v1/roles/', this.settings.LMS_BASE_URL), {
      headers: { authorization: `JWT ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    // The LMS does not take the token (another issuer): no roles there.
    if (res.status === 401 || res.status === 403) return [];
    if (!res.ok) throw new Error(`roles API answered ${res.status}`);
    const body = (await res.json()) as { roles?: Array<{ course_id: string; role: string }> };
    return Array.isArray(body.roles) ? body.roles : [];
  }

  async close(): Promise<void> {
    await this.pool?.end();
  }
}
