import { GROUPS_SCOPES, Principal, canManageScope } from '@groups-sync/auth';

/** What a caller may list: everything, or groups of some courses and organizations. */
export type ReadableScopes = { all: true } | { all: false; courseKeys: string[]; orgs: string[] };

export function readableScopes(principal: Principal): ReadableScopes {
  const readScope = principal.scopes.includes(GROUPS_SCOPES.read) || principal.scopes.includes(GROUPS_SCOPES.write);
  if (principal.isRestricted) return { all: false, courseKeys: [], orgs: readScope ? [...principal.contentOrgs] : [] };
  // A service reads everything when it may read at all: by scope, or by who it is (SERVICE_USERS).
  if (principal.isService)
    return canManageScope(principal, 'instance', '', 'read') ? { all: true } : { all: false, courseKeys: [], orgs: [] };
  if (principal.isGlobalStaff) return { all: true };
  return { all: false, courseKeys: principal.courseRoles.map((r) => r.courseKey), orgs: [] };
}

/**
 * Site-wide diagnostics (the evaluator's plugin load errors): global staff and service clients with
 * read access, those who may read instance-scope groups; never course staff or restricted applications.
 */
export function mayReadDiagnostics(principal: Principal): boolean {
  return canManageScope(principal, 'instance', '', 'read');
}

export { canManageScope };
