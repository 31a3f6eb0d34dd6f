import { ScopeType } from '@groups-sync/contracts';
import { isCourseKey } from '@groups-sync/contracts';
import { AuthErrorCode, AuthException } from './auth.exception';

// Claims per openedx/edx-platform openedx/core/djangoapps/oauth_dispatch/jwt.py (_create_jwt): preferred_username,
// scopes, filters, is_restricted, grant_type, version; user_id only with the `user_id` scope, administrator only with
// `profile`; `roles` from edx-rbac as "role:context". `content_org:` filters as in openedx/edx-drf-extensions permissions.py.
// The LMS puts no course roles in a JWT: `course_staff:<course key>` / `course_instructor:<course key>` in `roles` is
// our convention, in edx-rbac's form.

export type CourseRoleName = 'course_staff' | 'course_instructor';
export const COURSE_ROLES: readonly CourseRoleName[] = ['course_staff', 'course_instructor'];
export const GROUPS_SCOPES = { read: 'user_groups:read', write: 'user_groups:write' } as const;

export interface CourseRole {
  role: CourseRoleName;
  courseKey: string;
}

/** Who is calling, as far as this service's authorization needs to know. */
export interface Principal {
  userId: number | null;
  username: string | null;
  isGlobalStaff: boolean;
  courseRoles: readonly CourseRole[];
  scopes: readonly string[];
  /** A client_credentials token, or one that names no user: judged by its scopes alone. */
  isService: boolean;
  /** A restricted OAuth application: judged by scopes and `content_org` filters, never by the user's roles. */
  isRestricted: boolean;
  /** Organizations from `content_org:<org>` filters. */
  contentOrgs: readonly string[];
}

export type Access = 'read' | 'write';

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

function courseRole(entry: string): CourseRole | null {
  // edx-rbac splits at the first colon only: course keys contain colons.
  const at = entry.indexOf(':');
  const role = entry.slice(0, at) as CourseRoleName;
  const courseKey = entry.slice(at + 1);
  return at > 0 && COURSE_ROLES.includes(role) && isCourseKey(courseKey) ? { role, courseKey } : null;
}

export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const userId = typeof claims.user_id === 'number' && Number.isSafeInteger(claims.user_id) ? claims.user_id : null;
  const username = typeof claims.preferred_username === 'string' && claims.preferred_username ? claims.preferred_username : null;
  // The LMS sends `scopes` (a list); a plain OAuth server sends `scope` (space-separated).
  const scopes = Array.isArray(claims.scopes) ? strings(claims.scopes) : typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  return {
    userId,
    username,
    isGlobalStaff: claims.administrator === true,
    courseRoles: strings(claims.roles).map(courseRole).filter((r): r is CourseRole => r !== null),
    scopes,
    isService: claims.grant_type === 'client_credentials' || (userId === null && username === null),
    isRestricted: claims.is_restricted === true,
    contentOrgs: strings(claims.filters).filter((f) => f.startsWith('content_org:')).map((f) => f.slice('content_org:'.length)),
  };
}

/** `course-v1:Org+Course+Run` or `Org/Course/Run` → `Org`. */
function orgOf(scopeType: ScopeType, scopeKey: string): string | null {
  if (scopeType === 'org') return scopeKey;
  if (scopeType !== 'course') return null;
  return scopeKey.startsWith('course-v1:') ? scopeKey.slice('course-v1:'.length).split('+')[0] : scopeKey.split('/')[0];
}

const hasScope = (p: Principal, needed: Access) =>
  p.scopes.includes(GROUPS_SCOPES.write) || (needed === 'read' && p.scopes.includes(GROUPS_SCOPES.read));

/**
 * Global staff: anything. Course staff and instructors: groups of their own courses. Services: by
 * `user_groups:read` / `user_groups:write` (write implies read). Restricted applications: by scope and a
 * `content_org` filter naming the scope's organization. Everyone else: nothing.
 */
export function canManageScope(principal: Principal, scopeType: ScopeType, scopeKey: string, needed: Access): boolean {
  if (principal.isRestricted) {
    const org = orgOf(scopeType, scopeKey);
    return hasScope(principal, needed) && org !== null && principal.contentOrgs.includes(org);
  }
  if (principal.isService) return hasScope(principal, needed);
  if (principal.isGlobalStaff) return true;
  return scopeType === 'course' && principal.courseRoles.some((r) => r.courseKey === scopeKey);
}

/** As canManageScope, throwing FORBIDDEN_SCOPE (403) when denied. */
export function assertCanManageScope(principal: Principal, scopeType: ScopeType, scopeKey: string, needed: Access): void {
  if (!canManageScope(principal, scopeType, scopeKey, needed)) {
    throw new AuthException(AuthErrorCode.ForbiddenScope, `not allowed to ${needed} groups of ${scopeType} "${scopeKey}"`, {
      scope_type: scopeType,
      scope_key: scopeKey,
      needed,
    });
  }
}

/**
 * Site-wide operations (reconciliation, dead letters, pausing the sync): global staff, or a service
 * client holding `user_groups:write` (not a restricted application: those are held to organizations).
 */
export function assertOperator(principal: Principal): void {
  const ok = principal.isService ? !principal.isRestricted && principal.scopes.includes(GROUPS_SCOPES.write) : principal.isGlobalStaff && !principal.isRestricted;
  if (!ok) throw new AuthException(AuthErrorCode.ForbiddenScope, 'global staff, or a service client with the user_groups:write scope, only');
}

/**
 * Retiring users (Open edX's retirement pipeline): its service worker only, as the LMS's
 * `CanRetireUser` allows, by the username in its token; not superusers (a person never calls
 * this), and never a restricted application.
 */
export function assertRetirementWorker(principal: Principal, workerUsername: string): void {
  if (principal.isRestricted || principal.username === null || principal.username !== workerUsername) {
    throw new AuthException(AuthErrorCode.ForbiddenScope, 'only the service worker of the user retirement pipeline may retire users');
  }
}

/** How records name a caller: the username (an OAuth client's is its service user's). */
export function callerName(principal: Principal): string {
  return principal.username ?? (principal.isService ? 'unnamed service client' : `user ${principal.userId}`);
}
