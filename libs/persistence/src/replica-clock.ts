import { Logger } from '@nestjs/common';

/** Runs one statement and answers its rows (a mysql2 pool's `query`, unwrapped). */
export type StatusQuery = (sql: string) => Promise<Array<Record<string, unknown>>>;

/** What a read of the LMS's database stands for: everything the primary committed before `at`. */
export interface ReplicaPosition {
  at: Date;
  /** `primary`: no replication on this connection; `replica`: measured; `assumed`: the replica could not be asked (no privilege). */
  source: 'primary' | 'replica' | 'assumed';
  lagSeconds: number;
}

/**
 * The replica stopped replicating (`Seconds_Behind_Master` is NULL): its rows stand for no known
 * time, so nothing may be dated by them. Marked the way consumers recognise an outage.
 */
export class ReplicaNotReplicatingError extends Error {
  readonly dependencyUnavailable = true;

  constructor(detail: string) {
    super(`the LMS read replica is not replicating (${detail}): its rows cannot be dated`);
    this.name = 'ReplicaNotReplicatingError';
  }
}

/** The replica has not applied a change yet (an event's): what reads it now would miss. Waited out as an outage. */
export class ReplicaBehindError extends Error {
  readonly dependencyUnavailable = true;

  constructor(wanted: Date, position: ReplicaPosition) {
    super(
      `the LMS read replica has applied the primary up to ${position.at.toISOString()} (${position.source}, ${position.lagSeconds} s behind), not yet ${wanted.toISOString()}`,
    );
    this.name = 'ReplicaBehindError';
  }
}

const ACCESS_DENIED = new Set([
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
]);

/**
 * Dates reads of the LMS's database by what its replica has applied, not by this process's clock:
 * a change made on the primary inside the lag window is not in the replica yet, and a read dated
 * "now" would present its absence as newer than the change (a fresh add would read as removed).
 *
 * The replica's own report says it: `Seconds_Behind_Master` is the age of the oldest event it has
 * received and not applied (0 when it has applied all it received; it includes a `MASTER_DELAY`).
 * Whole seconds, so one more is taken off. Asked before the read it dates: the replica only moves
 * forward, so the rows read afterwards hold at least everything committed before that time.
 * Without the privilege to ask (`SLAVE MONITOR` on MariaDB, `REPLICATION CLIENT` on MySQL), the
 * configured assumed lag is used instead.
 */
export class ReplicaClock {
  private readonly logger = new Logger(ReplicaClock.name);
  private warned = false;
  private statement: 'SHOW REPLICA STATUS' | 'SHOW SLAVE STATUS' = 'SHOW REPLICA STATUS';

  constructor(
    private readonly query: StatusQuery,
    private readonly assumedLagSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  async position(): Promise<ReplicaPosition> {
    const asked = this.now();
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await this.status();
    } catch (error) {
      if (!ACCESS_DENIED.has(String((error as { code?: unknown }).code))) throw error;
      if (!this.warned) {
        this.warned = true;
        this.logger.warn(
          `cannot read the LMS replica's status (${(error as Error).message}); dating its reads ${this.assumedLagSeconds} s back (LMS_DB_ASSUMED_LAG_SECONDS). Grant SLAVE MONITOR (MariaDB) or REPLICATION CLIENT (MySQL) to measure it`,
        );
      }
      return {
        at: new Date(asked - this.assumedLagSeconds * 1000),
        source: 'assumed',
        lagSeconds: this.assumedLagSeconds,
      };
    }
    if (!rows.length) return { at: new Date(asked), source: 'primary', lagSeconds: 0 };
    // Several connections (MariaDB multi-source): the read is as old as the most lagging one.
    let lag = 0;
    for (const row of rows) {
      const behind = row.Seconds_Behind_Master ?? row.Seconds_Behind_Source;
      if (behind === null || behind === undefined) {
        throw new ReplicaNotReplicatingError(
          `IO ${String(row.Slave_IO_Running ?? row.Replica_IO_Running)}, SQL ${String(row.Slave_SQL_Running ?? row.Replica_SQL_Running)}`,
        );
      }
      lag = Math.max(lag, Number(behind) + 1);
    }
    return { at: new Date(asked - lag * 1000), source: 'replica', lagSeconds: lag };
  }

  /**
   * Waits, up to `maxWaitMs`, until the replica has applied the primary up to `time` (an LMS
   * event's time: a read before that would see the state before the event); then throws.
   */
  async positionAfter(time: Date, maxWaitMs: number, pollMs = 250): Promise<ReplicaPosition> {
    const deadline = this.now() + maxWaitMs;
    for (;;) {
      const position = await this.position();
      if (position.at >= time) return position;
      const left = deadline - this.now();
      if (left <= 0) throw new ReplicaBehindError(time, position);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(pollMs, left, time.getTime() - position.at.getTime())),
      );
    }
  }

  private async status(): Promise<Array<Record<string, unknown>>> {
    try {
      return await this.query(this.statement);
    } catch (error) {
      // Servers older than MariaDB 10.5.1 / MySQL 8.0.22 know only the old name.
      if (this.statement === 'SHOW REPLICA STATUS' && (error as { code?: unknown }).code === 'ER_PARSE_ERROR') {
        this.statement = 'SHOW SLAVE STATUS';
        return this.query(this.statement);
      }
      throw error;
    }
  }
}
