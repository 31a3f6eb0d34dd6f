import { DecodedEvent, SchemaRegistryHttpError } from '@groups-sync/contracts';
import { CONNECTION_ERROR_CODES, isDatabaseUnavailable } from '@groups-sync/observability';

/**
 * Thrown by a handler when the event can never be applied (invalid data, a reference that cannot
 * exist). The runner dead-letters it at once instead of retrying. A batch handler names the `event`
 * at fault: that one is set aside and the rest of the batch is handled again without it.
 */
export class PoisonMessageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly event?: DecodedEvent,
  ) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

/** A message that kept failing transiently until its retry budget ran out. */
export class RetryBudgetExceededError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: Error,
  ) {
    super(`gave up after ${attempts} attempts: ${lastError.message}`);
    this.name = 'RetryBudgetExceededError';
  }
}

/** A message whose dependency stayed unavailable for the whole outage budget, from its first failure. */
export class OutageBudgetExceededError extends Error {
  constructor(
    readonly budgetSeconds: number,
    readonly lastError: Error,
  ) {
    super(`dependency unavailable for ${budgetSeconds} s: ${lastError.message}`);
    this.name = 'OutageBudgetExceededError';
  }
}

/**
 * Thrown (or marked with `dependencyUnavailable: true`) when something the handler needs is down:
 * the LMS, the database. Such failures do not spend the message's retry budget: the partition waits
 * for the dependency, in order, instead of dead-lettering every message an outage touches (which
 * would also break per-key order when the dead letters are replayed). Only the outage budget
 * (an hour by default) ends the wait: a dependency that never answers must not hold its partition forever.
 */
export class DependencyUnavailableError extends Error {
  readonly dependencyUnavailable = true;

  constructor(message: string) {
    super(message);
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * The partition is held on purpose (an operator paused writes for a maintenance window): waited
 * for like an outage, but for as long as the hold lasts; the outage budget does not run.
 */
export class HeldByOperatorError extends DependencyUnavailableError {
  readonly heldByOperator = true;

  constructor(message: string) {
    super(message);
    this.name = 'HeldByOperatorError';
  }
}

export function isHeldByOperator(error: unknown): boolean {
  return !!error && typeof error === 'object' && (error as { heldByOperator?: unknown }).heldByOperator === true;
}

/** Connection-level failures of a network call (fetch reports them on `cause`): the host, not the message, is the problem. */
const NETWORK_CODES = new Set<string>([
  ...CONNECTION_ERROR_CODES,
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * True for an outage: the marker (DependencyUnavailableError, `dependencyUnavailable: true`); the
 * database down, read-only or out of lock time (isDatabaseUnavailable); a schema registry that
 * answers 5xx, 408 or 429 (a schema it does not have, 404, is the message's defect); a host that
 * refuses, does not resolve or times out. Anything else (a TypeError, an SQL error) is a defect.
 */
export function isDependencyUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { dependencyUnavailable?: unknown; name?: unknown; code?: unknown; cause?: unknown };
  if (e.dependencyUnavailable !== undefined) return e.dependencyUnavailable === true;
  if (isDatabaseUnavailable(error)) return true;
  if (error instanceof SchemaRegistryHttpError)
    return error.status >= 500 || error.status === 408 || error.status === 429;
  // AbortSignal.timeout(): the registry (or another HTTP dependency) did not answer in time.
  if (e.name === 'TimeoutError') return true;
  if (NETWORK_CODES.has(String(e.code))) return true;
  const cause = e.cause as { code?: unknown; name?: unknown } | undefined;
  return (
    !!cause &&
    typeof cause === 'object' &&
    (NETWORK_CODES.has(String(cause.code)) || cause.name === 'TimeoutError' || cause.name === 'ConnectTimeoutError')
  );
}
