import { migrationLockName } from './migration-lock';

describe('migrationLockName', () => {
  it('names the lock after the database', () => {
    expect(migrationLockName('groups_service')).toBe('groups_service-migrations');
  });

  it('stays within the 64 characters MySQL allows, and apart, for the longest database names', () => {
    const longest = 'a'.repeat(64);
    const other = `${'a'.repeat(63)}b`;
    expect(migrationLockName(longest).length).toBeLessThanOrEqual(64);
    expect(migrationLockName(longest)).not.toBe(migrationLockName(other));
  });
});
