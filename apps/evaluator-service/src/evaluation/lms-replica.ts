import { createPool, Pool, PoolConnection } from 'mysql2';
import { parseMysqlUrl, ReplicaClock, ReplicaPosition } from '@groups-sync/persistence';

/**
 * A read-only connection to the LMS's database (an operator's read replica; here, the emulator's
 * tables with edx-platform's names). Rows are streamed: a group of 500,000 is never one array.
 */
export class LmsReplica {
  private readonly pool: Pool;
  private readonly clock: ReplicaClock;

  constructor(url: string, assumedLagSeconds: number, poolSize = 4) {
    const { host, port, username, password } = parseMysqlUrl(url);
    this.pool = createPool({
      host,
      port,
      user: username,
      password,
      database: decodeURIComponent(new URL(url).pathname.slice(1)),
      connectionLimit: poolSize,
      supportBigNumbers: true,
      timezone: 'Z',
      dateStrings: false,
    });
    const promised = this.pool.promise();
    this.clock = new ReplicaClock(
      async (sql) => (await promised.query(sql))[0] as Array<Record<string, unknown>>,
      assumedLagSeconds,
    );
  }

  /** The time a read starting now stands for: what the replica has applied of the LMS's primary. */
  position(): Promise<ReplicaPosition> {
    return this.clock.position();
  }

  /** Waits (briefly) until the replica has applied the primary up to `time`; throws ReplicaBehindError after. */
  positionAfter(time: Date, maxWaitMs: number): Promise<ReplicaPosition> {
    return this.clock.positionAfter(time, maxWaitMs);
  }

  async *stream<T>(sql: string, params: unknown[]): AsyncGenerator<T> {
    const connection = await new Promise<PoolConnection>((resolve, reject) =>
      this.pool.getConnection((e, c) => (e ? reject(e) : resolve(c))),
    );
    try {
      for await (const row of connection.query(sql, params).stream({ highWaterMark: 2000 })) yield row as T;
    } finally {
      connection.release();
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }
}
