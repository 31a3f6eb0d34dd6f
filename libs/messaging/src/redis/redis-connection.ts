import Redis from 'ioredis';

/**
 * A client for event-bus-redis's EVENT_BUS_REDIS_CONNECTION_URL: `redis://[[user]:password@]host[:port][/db]`
 * or `rediss://` (TLS), as redis-py's `from_url` reads it (Tutor's is `redis://@redis:6379/`).
 * Commands fail fast while the server is down (no offline queue): the caller retries, in order.
 */
export function connectRedis(url: string, name: string, options: { commandTimeoutMs?: number } = {}): Redis {
  return new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A read in flight when the connection dropped is failed, not sent again: the server may have
    // delivered its entries already, and the reader must go back to its pending list for them.
    autoResendUnfulfilledCommands: false,
    // A half-open socket would otherwise hold a command (and the reader, and its lease) for hours.
    commandTimeout: options.commandTimeoutMs ?? 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

/** The server's address without the password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an unparseable Redis URL';
  }
}

/** Stream entry ids `ms-seq` compared as numbers (string order is wrong: "9-0" > "10-0"). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map((x) => BigInt(x || '0'));
  const [bm, bs] = b.split('-').map((x) => BigInt(x || '0'));
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** XINFO's flat [name, value, name, value…] reply as an object. */
export function infoReply(reply: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}
