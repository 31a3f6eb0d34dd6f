import { DependencyUnavailableError, HeldByOperatorError } from './consumer.errors';
import { RetryPolicy } from './retry-policy';

describe('RetryPolicy', () => {
  const policy = new RetryPolicy({ maxAttempts: 3, backoffInitialMs: 100, backoffMaxMs: 1000, outageBudgetMs: 60_000 });
  const defect = new TypeError('x is undefined');
  const outage = new DependencyUnavailableError('LMS unreachable');
  const hold = new HeldByOperatorError('LMS writes paused');
  const now = Date.parse('2026-12-07T10:00:00Z');
  const ago = (ms: number) => new Date(now - ms);

  it.each([
    ['a defect', defect, true],
    ['an unavailable dependency', outage, false],
    ["an operator's hold", hold, false],
  ])('counts %s against the retry budget: %s', (_name, error, counted) => {
    expect(policy.counts(error)).toBe(counted);
  });

  it.each([
    [2, false],
    [3, true],
    [4, true],
  ])('after %i counted failures the budget is spent: %s', (counted, spent) => {
    expect(policy.exhausted(counted)).toBe(spent);
  });

  it.each([
    ['an outage within its budget', outage, 59_999, false],
    ['an outage for its whole budget', outage, 60_000, true],
    ['a hold, however long', hold, 10 * 60_000, false],
    ['a defect (not an outage)', defect, 10 * 60_000, false],
  ])('ends the wait for %s: %s', (_name, error, waited, over) => {
    expect(policy.outageOver(error, ago(waited), now)).toBe(over);
  });

  it.each([
    [1, 100],
    [2, 200],
    [4, 800],
    [5, 1000],
    [60, 1000],
  ])('waits, before attempt %i + 1, %i ms', (attempt, ms) => {
    expect(policy.backoff(attempt)).toBe(ms);
  });

  it('waits an hour for a dependency and starts at 200 ms by default', () => {
    const defaults = new RetryPolicy({ maxAttempts: 1, backoffMaxMs: 10_000 });
    expect(defaults.outageBudgetMs).toBe(3600_000);
    expect(defaults.backoff(1)).toBe(200);
  });
});
