import { DependencyUnavailableError, HeldByOperatorError, isDependencyUnavailable, isHeldByOperator, OutageBudgetExceededError, PoisonMessageError } from './consumer.errors';

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

describe('isHeldByOperator', () => {
  it('tells an operator\'s hold, waited for without an outage budget, from an outage', () => {
    expect(isHeldByOperator(new HeldByOperatorError('writes paused'))).toBe(true);
    expect(isDependencyUnavailable(new HeldByOperatorError('writes paused'))).toBe(true);
    expect(isHeldByOperator(new DependencyUnavailableError('LMS down'))).toBe(false);
    expect(isHeldByOperator(undefined)).toBe(false);
  });
});

describe('OutageBudgetExceededError', () => {
  it('says how long the dependency was waited for, and its last error', () => {
    expect(new OutageBudgetExceededError(3600, new Error('LMS answered 504')).message).toBe('dependency unavailable for 3600 s: LMS answered 504');
  });
});
