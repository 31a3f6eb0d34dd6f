import * as mysql2 from 'mysql2';

/**
 * mysql2 whose pools put every new connection's session in UTC before its first query. The
 * driver's `timezone: 'Z'` only converts on the client; without this, `DEFAULT CURRENT_TIMESTAMP`
 * and `NOW()` follow the server's zone and disagree with the times code writes.
 */
export function utcSessionsDriver(): typeof mysql2 {
  const createPool = (options: mysql2.PoolOptions) => {
    const pool = mysql2.createPool(options);
    // Queued on the connection ahead of the query that asked for it; a session that cannot be set is not used.
    pool.on('connection', (connection) =>
      connection.query("SET time_zone = '+00:00'", (error) => error && connection.destroy()),
    );
    return pool;
  };
  return Object.create(mysql2, { createPool: { value: createPool, enumerable: true } }) as typeof mysql2;
}
