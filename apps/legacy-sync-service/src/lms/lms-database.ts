import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { createPool, Pool } from 'mysql2/promise';
import { parseMysqlUrl, ReplicaClock } from '@groups-sync/persistence';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';

/**
 * A read-only connection pool to the LMS's own database (`LMS_DB_URL`, a replica), shared by the
 * cohort, track and team rosters; null without it (they read the LMS's REST APIs instead).
 */
@Injectable()
export class LmsDatabase implements OnModuleDestroy {
  private readonly logger = new Logger(LmsDatabase.name);
  readonly pool: Pool | null;
  private readonly clock: ReplicaClock | null;

  constructor(config: LegacySyncServiceConfig) {
    if (!config.LMS_DB_URL) {
      this.pool = null;
      this.clock = null;
      return;
    }
    const url = new URL(config.LMS_DB_URL);
    const { host, port, username, password } = parseMysqlUrl(config.LMS_DB_URL);
    this.pool = createPool({
      host,
      port,
      user: username,
      password,
      database: decodeURIComponent(url.pathname.slice(1)),
      connectionLimit: 2,
      supportBigNumbers: true,
    });
    const pool = this.pool;
    this.clock = new ReplicaClock(
      async (sql) => (await pool.query(sql))[0] as Array<Record<string, unknown>>,
      config.LMS_DB_ASSUMED_LAG_SECONDS,
    );
  }

  /**
   * The time a read starting now stands for: what the replica has applied (see ReplicaClock). The
   * REST path reads the LMS itself, so without a database it is now.
   */
  async readAt(): Promise<Date> {
    return this.clock ? (await this.clock.position()).at : new Date();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.end().catch((e: Error) => this.logger.warn(`LMS database pool: ${e.message}`));
  }
}
