/**
 * Thrown by a handler when the event can never be applied (invalid data, a reference that cannot
 * exist). The runner dead-letters it at once instead of retrying.
 */
export class PoisonMessageError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

/** A message that kept failing transiently until its retry budget ran out. */
export class RetryBudgetExceededError extends Error {
  constructor(readonly attempts: number, readonly lastError: Error) {
    super(`gave up after ${attempts} attempts: ${lastError.message}`);
    this.name = 'RetryBudgetExceededError';
  }
}
