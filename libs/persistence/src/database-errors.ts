/** MySQL/MariaDB ER_DUP_ENTRY: a unique index refused the row. */
export function isDuplicateKeyError(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; driverError?: { code?: string; errno?: number } };
  return e?.code === 'ER_DUP_ENTRY' || e?.errno === 1062 || e?.driverError?.code === 'ER_DUP_ENTRY';
}

/** Deadlocks and lock-wait timeouts: the transaction can simply run again. */
export function isRetryableTransactionError(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string } };
  const code = e?.code ?? e?.driverError?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

// Which database errors are outages is shared with the HTTP error filter (libs/observability), so
// that an API caller gets 503 for what a consumer waits out.
export { isDatabaseUnavailable } from '@groups-sync/observability';
