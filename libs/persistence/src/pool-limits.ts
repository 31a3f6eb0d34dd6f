import type * as mysql2 from 'mysql2';
import type { ServerFlavor } from './database';

/**
 * How the service's connection pool is sized and bounded (ServiceConfig's DB_POOL_* settings, which
 * the config object itself satisfies).
 */
export interface PoolLimits {
  DB_POOL_SIZE?: number;
  /** A query that waits longer than this for a free connection fails with DB_POOL_TIMEOUT instead of hanging. */
  DB_POOL_ACQUIRE_TIMEOUT_MS?: number;
  /** The server stops a statement running longer (MariaDB max_statement_time; MySQL max_execution_time, SELECTs only); 0: no limit. */
  DB_STATEMENT_TIMEOUT_MS?: number;
}

export const DEFAULT_POOL_SIZE = 16;
export const DEFAULT_POOL_ACQUIRE_TIMEOUT_MS = 20_000;

/** The error a query gets when no connection frees up in time: the pool is too small for the work, or the database too slow. */
export class PoolTimeoutError extends Error {
  readonly code = 'DB_POOL_TIMEOUT';
  /** Waited out by consumers, 503 to API callers: nothing is wrong with the message or the request. */
  readonly dependencyUnavailable = true;

  constructor(size: number, waitedMs: number) {
    super(
      `no database connection came free within ${waitedMs} ms (all ${size} of the pool in use; DB_POOL_SIZE, DB_POOL_ACQUIRE_TIMEOUT_MS)`,
    );
    this.name = 'PoolTimeoutError';
  }
}

/**
 * `base` whose pools give up waiting for a connection after the acquire timeout (mysql2 has no such
 * limit: a waiter queues forever) and set each new session's statement timeout. Every query, TypeORM's
 * and `pool.query`'s, takes its connection through `getConnection`.
 */
export function poolLimitsDriver(
  base: typeof mysql2,
  flavor: ServerFlavor,
  limits: { size: number; acquireTimeoutMs: number; statementTimeoutMs: number },
): typeof mysql2 {
  const createPool = (options: mysql2.PoolOptions) => {
    const pool = base.createPool(options);
    if (limits.statementTimeoutMs > 0) {
      const set =
        flavor === 'mariadb'
          ? `SET SESSION max_statement_time = ${limits.statementTimeoutMs / 1000}`
          : `SET SESSION max_execution_time = ${Math.round(limits.statementTimeoutMs)}`;
      pool.on('connection', (connection) => connection.query(set, (error) => error && connection.destroy()));
    }
    if (limits.acquireTimeoutMs > 0) {
      const getConnection = pool.getConnection.bind(pool);
      pool.getConnection = ((cb: (error: unknown, connection?: mysql2.PoolConnection) => void) => {
        let settled = false;
        const timer = setTimeout(() => {
          settled = true;
          cb(new PoolTimeoutError(limits.size, limits.acquireTimeoutMs));
        }, limits.acquireTimeoutMs);
        getConnection((error, connection) => {
          if (settled) {
            connection?.release(); // came too late: its waiter was answered already
            return;
          }
          settled = true;
          clearTimeout(timer);
          cb(error, connection);
        });
      }) as typeof pool.getConnection;
    }
    return pool;
  };
  return Object.create(base, { createPool: { value: createPool, enumerable: true } }) as typeof mysql2;
}
