import { isDependencyUnavailable, isHeldByOperator } from './consumer.errors';

export const DEFAULT_OUTAGE_BUDGET_MS = 3600_000;
const DEFAULT_BACKOFF_INITIAL_MS = 200;

export interface RetryPolicyOptions {
  /** Counted failures of a message before it is dead-lettered. */
  maxAttempts: number;
  backoffMaxMs: number;
  backoffInitialMs?: number;
  /** How long a message may wait for an unavailable dependency, from its first failure (one hour by default). */
  outageBudgetMs?: number;
}

/**
 * When a failing message is tried again and when it goes aside; no state, no I/O (the runners keep
 * the attempts and first failures). A defect spends the retry budget; an unavailable dependency
 * does not, and is waited for up to the outage budget; an operator's hold as long as it lasts.
 */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly outageBudgetMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;

  constructor(options: RetryPolicyOptions) {
    this.maxAttempts = options.maxAttempts;
    this.outageBudgetMs = options.outageBudgetMs ?? DEFAULT_OUTAGE_BUDGET_MS;
    this.backoffInitialMs = options.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.backoffMaxMs = options.backoffMaxMs;
  }

  /** A failure the message is blamed for: anything but an unavailable dependency (or a hold). */
  counts(error: unknown): boolean {
    return !isDependencyUnavailable(error);
  }

  /** An operator's hold: no outage budget runs. */
  held(error: unknown): boolean {
    return isHeldByOperator(error);
  }

  /** The message has failed, counted, as often as it may. */
  exhausted(counted: number): boolean {
    return counted >= this.maxAttempts;
  }

  /** The dependency has been down for the whole outage budget since `since` (never for a hold). */
  outageOver(error: unknown, since: Date, now = Date.now()): boolean {
    return !this.counts(error) && !this.held(error) && now - since.getTime() >= this.outageBudgetMs;
  }

  /** The wait before the next attempt grows with every attempt, counted or not, up to its cap. */
  backoff(attempt: number): number {
    return Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(attempt - 1, 20));
  }
}
