import { ScopeType, isCourseKey } from '@groups-sync/contracts';
import { GroupsErrorCode, GroupsException } from './groups.exception';

const ORG = /^[A-Za-z0-9_.~-]{1,255}$/;

/** Checks a scope and returns its stored key: a course key, an organization short name, or '' for the instance. */
export function normalizeScope(type: ScopeType, key: string | undefined): string {
  const value = (key ?? '').trim();
  if (type === 'course' && !isCourseKey(value)) {
    throw new GroupsException(
      GroupsErrorCode.InvalidScope,
      `scope_key: expected a course key (course-v1:Org+Course+Run or Org/Course/Run), got "${value.slice(0, 80)}"`,
      { field: 'scope_key' },
    );
  }
  if (type === 'org' && !ORG.test(value)) {
    throw new GroupsException(
      GroupsErrorCode.InvalidScope,
      'scope_key: expected an organization short name (letters, digits, _.~-)',
      { field: 'scope_key' },
    );
  }
  if (type === 'instance' && value !== '') {
    throw new GroupsException(GroupsErrorCode.InvalidScope, 'scope_key: an instance-scoped group has no scope key', {
      field: 'scope_key',
    });
  }
  return value;
}
