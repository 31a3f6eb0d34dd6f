import { ScopeType } from '@groups-sync/contracts';
import { isCourseKey } from '@groups-sync/contracts';
import { AuthErrorCode, AuthException } from './auth.exception';

// Claims per openedx/edx-platform openedx/core/djangoapps/oauth_dispatch/jwt.py (_create_jwt): preferred_username,
// scopes, filters, is_restricted, grant_type, version; user_id only with the `user_id` scope, administrator only with
// `profile`. `content_org:` filters as in openedx/edx-drf-extensions permissions.py. The LMS puts no course roles in a
// JWT (its `roles` claim holds edx-rbac roles only): course roles come from the LMS itself (CourseRoles).

export type CourseRoleName = 'course_staff' | 'course_instructor';
export const GROUPS_SCOPES = { read: 'user_groups:read', write: 'user_groups:write' } as const;

export interface CourseRole {
  role: CourseRoleName;
  courseKey: string;
}

export type Access = 'read' | 'write';

/** Who is calling, as far as this service's authorization needs to know. */
export interface Principal {
  userId: number | null;
  username: string | null;
  isGlobalStaff: boolean;
  /** Resolved from the LMS by the guard for a user who is neither global staff nor a service. */
  courseRoles: readonly CourseRole[];
  /** The LMS could not say (and had not said recently): a course-scoped refusal is then 503, not 403. */
  courseRolesUnavailable?: boolean;
  scopes: readonly string[];
  /** A client_credentials token, a configured service user, or a token that names no user: judged by what it was granted. */
  isService: boolean;
  /** What SERVICE_USERS grants this caller, by its username; null when it is not listed. */
  serviceAccess: Access | null;
  /** A restricted OAuth application: judged by scopes and `content_org` filters, never by the user's roles. */
  isRestricted: boolean;
  /** Organizations from `content_org:<org>` filters. */
  contentOrgs: readonly string[];
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** SERVICE_USERS: `name[:read|:write],…` (write when unsaid). */
export function parseServiceUsers(value: string | undefined): Map<string, Access> {
  const users = new Map<string, Access>();
  for (const entry of (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const at = entry.lastIndexOf(':');
    const access = at > 0 ? entry.slice(at + 1) : 'write';
    if (access !== 'read' && access !== 'write')
      throw new Error(`SERVICE_USERS: "${entry}" must be <name>, <name>:read or <name>:write`);
    users.set(at > 0 ? entry.slice(0, at) : entry, access);
  }
  return users;
}

export function principalFromClaims(
  claims: Record<string, unknown>,
  serviceUsers: ReadonlyMap<string, Access> = new Map(),
): Principal {
  const userId = typeof claims.user_id === 'number' && Number.isSafeInteger(claims.user_id) ? claims.user_id : null;
  const username =
    typeof claims.preferred_username === 'string' && claims.preferred_username ? claims.preferred_username : null;
  // The LMS sends `scopes` (a list); a plain OAuth server sends `scope` (space-separated).
  const scopes = Array.isArray(claims.scopes)
    ? strings(claims.scopes)
    : typeof claims.scope === 'string'
      ? claims.scope.split(' ').filter(Boolean)
      : [];
  // By username only: the LMS's JWTs carry no client id, and a name that could also be a client id
  // would let anyone who registered it as a username in as a service.
  const serviceAccess = (username !== null ? serviceUsers.get(username) : undefined) ?? null;
  // oauth_dispatch writes the grant as django-oauth-toolkit names it, `client-credentials`.
  const clientCredentials = claims.grant_type === 'client-credentials' || claims.grant_type === 'client_credentials';
  return {
    userId,
    username,
    isGlobalStaff: claims.administrator === true,
    courseRoles: [],
    scopes,
    isService: clientCredentials || serviceAccess !== null || (userId === null && username === null),
    serviceAccess,
    isRestricted: claims.is_restricted === true,
    contentOrgs: strings(claims.filters)
      .filter((f) => f.startsWith('content_org:'))
      .map((f) => f.slice('content_org:'.length)),
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

/** A service: by who it is (SERVICE_USERS), or by the optional `user_groups:*` scopes. */
const serviceMay = (p: Principal, needed: Access) =>
  hasScope(p, needed) || p.serviceAccess === 'write' || (needed === 'read' && p.serviceAccess === 'read');

/**
 * Global staff: anything. Course staff and instructors (edx-platform's rule for managing a course's
 * cohorts: instructor, staff and limited staff): groups of their own courses. Services: by who they
 * are (SERVICE_USERS) or by `user_groups:read` / `user_groups:write` (write implies read). Restricted
 * applications: by scope and a `content_org` filter naming the scope's organization. Everyone else: nothing.
 */
export function canManageScope(principal: Principal, scopeType: ScopeType, scopeKey: string, needed: Access): boolean {
  if (principal.isRestricted) {
    const org = orgOf(scopeType, scopeKey);
    return hasScope(principal, needed) && org !== null && principal.contentOrgs.includes(org);
  }
  if (principal.isService) return serviceMay(principal, needed);
  if (principal.isGlobalStaff) return true;
  return scopeType === 'course' && principal.courseRoles.some((r) => r.courseKey === scopeKey);
}

/** As canManageScope, throwing FORBIDDEN_SCOPE (403) when denied. */
export function assertCanManageScope(
  principal: Principal,
  scopeType: ScopeType,
  scopeKey: string,
  needed: Access,
): void {
  if (!canManageScope(principal, scopeType, scopeKey, needed)) {
    if (principal.courseRolesUnavailable && scopeType === 'course') {
      throw new AuthException(
        AuthErrorCode.RolesUnavailable,
        'your course roles could not be read from the LMS; try again later',
      );
    }
    throw new AuthException(
      AuthErrorCode.ForbiddenScope,
      `not allowed to ${needed} groups of ${scopeType} "${scopeKey}"`,
      {
        scope_type: scopeType,
        scope_key: scopeKey,
        needed,
      },
    );
  }
}

/**
 * Site-wide operations (reconciliation, dead letters, pausing the sync): global staff, or a service
 * client with write access (SERVICE_USERS, or `user_groups:write`); never a restricted application
 * (those are held to organizations).
 */
export function assertOperator(principal: Principal): void {
  const ok =
    !principal.isRestricted && (principal.isService ? serviceMay(principal, 'write') : principal.isGlobalStaff);
  if (!ok)
    throw new AuthException(
      AuthErrorCode.ForbiddenScope,
      'global staff, or a service client with write access (SERVICE_USERS or user_groups:write), only',
    );
}

/**
 * Retiring users (Open edX's retirement pipeline): its service worker only, as the LMS's
 * `CanRetireUser` allows, by the username in its token; not superusers (a person never calls
 * this), and never a restricted application.
 */
export function assertRetirementWorker(principal: Principal, workerUsername: string): void {
  if (principal.isRestricted || principal.username === null || principal.username !== workerUsername) {
    throw new AuthException(
      AuthErrorCode.ForbiddenScope,
      'only the service worker of the user retirement pipeline may retire users',
    );
  }
}

/** How records name a caller: the username (an OAuth client's is its service user's). */
export function callerName(principal: Principal): string {
  return principal.username ?? (principal.isService ? 'unnamed service client' : `user ${principal.userId}`);
}
