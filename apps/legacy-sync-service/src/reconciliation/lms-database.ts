import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { createPool, Pool } from 'mysql2/promise';
import { parseMysqlUrl } from '@groups-sync/persistence';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';

/**
 * A read-only connection pool to the LMS's own database (`LMS_DB_URL`, a replica), shared by the
 * cohort, track and team rosters; null without it (they read the LMS's REST APIs instead).
 */
@Injectable()
export class LmsDatabase implements OnModuleDestroy {
  private readonly logger = new Logger(LmsDatabase.name);
  readonly pool: Pool | null;

  constructor(config: LegacySyncServiceConfig) {
    if (!config.LMS_DB_URL) {
      this.pool = null;
      return;
    }
    const url = new URL(config.LMS_DB_URL);
    const { host, port, username, password } = parseMysqlUrl(config.LMS_DB_URL);
    this.pool = createPool({ host, port, user: username, password, database: decodeURIComponent(url.pathname.slice(1)), connectionLimit: 2, supportBigNumbers: true });
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.end().catch((e: Error) => this.logger.warn(`LMS database pool: ${e.message}`));
  }
}
