import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GroupsServiceConfig } from '../groups-service.config';
import { LmsCourseRuns } from './lms-course-runs';
import { RerunsService } from './reruns.service';

/**
 * Reads the reruns Studio finished from the LMS's database (LMS_DB_URL) every RERUNS_POLL_SECONDS
 * and carries each course's groups into its new run. How far it has read is kept on the LMS's
 * clock (`rerun_cursor`), never compared with ours; the last rerun read is read again next time,
 * which the once-only rule makes harmless. A first read starts RERUNS_LOOKBACK_HOURS back, so
 * installing this does not carry groups into every rerun a site ever made.
 */
@Injectable()
export class RerunsPoller implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RerunsPoller.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly lms: LmsCourseRuns,
    private readonly reruns: RerunsService,
    private readonly config: GroupsServiceConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.lms.readsReruns || this.config.RERUNS_POLL_SECONDS <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.poll()
        .catch((error: Error) => this.logger.warn(`reading the LMS's reruns failed, next time again: ${error.message}`))
        .finally(() => (this.running = undefined));
    }, this.config.RERUNS_POLL_SECONDS * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One read: every succeeded rerun since the cursor, each applied (once) in LMS order. */
  async poll(): Promise<void> {
    let [cursor] = await this.dataSource.query('SELECT lms_since FROM rerun_cursor WHERE id = 1');
    if (!cursor) {
      const since = await this.lms.lmsTimeHoursAgo(this.config.RERUNS_LOOKBACK_HOURS);
      await this.dataSource.query('INSERT IGNORE INTO rerun_cursor (id, lms_since) VALUES (1, ?)', [since]);
      [cursor] = await this.dataSource.query('SELECT lms_since FROM rerun_cursor WHERE id = 1');
    }
    for (const rerun of await this.lms.succeededSince(cursor.lms_since as Date)) {
      try {
        await this.reruns.apply(rerun.sourceCourseKey, rerun.courseKey, { by: 'lms', lmsUpdatedAt: rerun.updatedAt });
      } catch (error) {
        // A key the LMS holds that is not a course key for us (or a copy the LMS could not help
        // with): logged and passed, so one rerun never holds up the next ones.
        if ((error as { kind?: string }).kind !== 'invalid') throw error;
        this.logger.warn(
          `rerun ${rerun.sourceCourseKey} → ${rerun.courseKey} not carried over: ${(error as Error).message}`,
        );
      }
      await this.dataSource.query('UPDATE rerun_cursor SET lms_since = GREATEST(lms_since, ?) WHERE id = 1', [
        rerun.updatedAt,
      ]);
    }
  }
}
