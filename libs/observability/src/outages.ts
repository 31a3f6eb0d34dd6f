/**
 * The database server, not the statement, is the problem: the connection is lost or refused, the
 * server is read-only (a failover in progress, a replica promoted late) or another transaction holds
 * the lock past innodb_lock_wait_timeout. Waiting helps; running the statement again at once does not.
 */
/** A host that refuses, resets, does not resolve or is out of reach: any network call's, the database's too. */
export const CONNECTION_ERROR_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
] as const;

const UNAVAILABLE_CODES = new Set<string>([
  ...CONNECTION_ERROR_CODES,
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_READ_ONLY_MODE',
  'ER_LOCK_WAIT_TIMEOUT',
  // Our own pool's acquire timeout (pool-limits.ts): the database is too slow or too busy for the work.
  'DB_POOL_TIMEOUT',
]);
/** 1040 too many connections, 1053 server shutdown, 1205 lock wait timeout, 1290 --read-only, 1836 read-only mode. */
const UNAVAILABLE_ERRNOS = new Set([1040, 1053, 1205, 1290, 1836]);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: unknown; errno?: unknown; driverError?: { code?: unknown; errno?: unknown } };
  return [e, e.driverError].some(
    (x) => !!x && (UNAVAILABLE_CODES.has(String(x.code)) || UNAVAILABLE_ERRNOS.has(Number(x.errno))),
  );
}

/**
 * Something a request or a message needs is down or saturated: marked by the thrower
 * (`dependencyUnavailable: true`: an LMS outage, a replica behind, our pool's timeout) or a database
 * outage. Consumers wait it out; the HTTP error filter answers 503.
 */
export function isUnavailable(error: unknown): boolean {
  return (
    (error as { dependencyUnavailable?: unknown } | null)?.dependencyUnavailable === true ||
    isDatabaseUnavailable(error)
  );
}
