import { DependencyUnavailableError, isDependencyUnavailable, PoisonMessageError } from './consumer.errors';

describe('isDependencyUnavailable', () => {
  it('recognises the marker, the marker class and lost database connections', () => {
    expect(isDependencyUnavailable(new DependencyUnavailableError('LMS down'))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('LMS 503'), { dependencyUnavailable: true }))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('query failed'), { driverError: { code: 'PROTOCOL_CONNECTION_LOST' } }))).toBe(true);
  });

  it('leaves every other failure to the retry budget', () => {
    expect(isDependencyUnavailable(new Error('bug'))).toBe(false);
    expect(isDependencyUnavailable(Object.assign(new Error('LMS 500'), { dependencyUnavailable: false }))).toBe(false);
    expect(isDependencyUnavailable(Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY' }))).toBe(false);
    expect(isDependencyUnavailable(new PoisonMessageError('INVALID_DATA', 'no'))).toBe(false);
    expect(isDependencyUnavailable(undefined)).toBe(false);
  });
});
