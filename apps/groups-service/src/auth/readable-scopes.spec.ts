import { Principal } from '@groups-sync/auth';
import { readableScopes } from './readable-scopes';

const principal = (over: Partial<Principal>): Principal => ({
  userId: null,
  username: null,
  isGlobalStaff: false,
  courseRoles: [],
  scopes: [],
  isService: false,
  serviceAccess: null,
  isRestricted: false,
  contentOrgs: [],
  ...over,
});

describe('what a caller may list', () => {
  it.each<[string, Partial<Principal>, ReturnType<typeof readableScopes>]>([
    [
      "the LMS's service user by name (SERVICE_USERS), no custom scope",
      { isService: true, username: 'groups_sync_worker', serviceAccess: 'write' },
      { all: true },
    ],
    ['a read-only service user by name', { isService: true, serviceAccess: 'read' }, { all: true }],
    ['a client with user_groups:read', { isService: true, scopes: ['user_groups:read'] }, { all: true }],
    ['a client with neither', { isService: true }, { all: false, courseKeys: [], orgs: [] }],
    ['global staff', { isGlobalStaff: true, userId: 1 }, { all: true }],
    [
      'course staff',
      { userId: 2, courseRoles: [{ courseKey: 'course-v1:A+B+C', role: 'staff' }] as never },
      { all: false, courseKeys: ['course-v1:A+B+C'], orgs: [] },
    ],
  ])('%s', (_name, over, expected) => {
    expect(readableScopes(principal(over))).toEqual(expected);
  });
});
