import { Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { EventConsumers } from '@groups-sync/messaging';
import { DynamicGroupRow, RefreshRuns } from './refresh-runs';

const CADENCE = 'COALESCE(cadence_override_seconds, cadence_seconds)';

/**
 * Scheduled refresh: every minute, the enabled, unfrozen groups whose last evaluation is older than
 * their cadence (the group's own, else the shortest default of their criteria's types) are
 * refreshed, trigger `scheduled`. A group whose last evaluation failed waits for its criteria to
 * change (or a manual refresh) instead of failing every cadence. Each group is claimed first, so
 * that instances never refresh the same group twice.
 */
@Injectable()
export class RefreshScheduler implements OnModuleInit {
  private readonly logger = new Logger(RefreshScheduler.name);
  private running = false;
  /** Set when LMS events were lost (a trimmed Redis stream): groups evaluated before it are due whatever their cadence. */
  private dueBefore: Date | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly refreshes: RefreshRuns,
    @Optional() private readonly consumers?: EventConsumers,
  ) {}

  /** Events lost before they were read may have changed who meets any group's criteria: every enabled group is refreshed. */
  onModuleInit(): void {
    this.consumers?.onStreamGap(async (gap) => {
      this.dueBefore = new Date();
      this.logger.warn(`events of ${gap.stream} were lost before they were read: refreshing every dynamic group`);
      setTimeout(
        () =>
          void this.tick().catch((e: Error) => this.logger.error(`refresh after a stream gap failed: ${e.message}`)),
        0,
      );
    });
  }

  @Interval(60_000)
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    const gapAt = this.dueBefore;
    let full = false;
    const due = gapAt
      ? { sql: '(last_evaluated_at IS NULL OR last_evaluated_at < ?)', params: [gapAt] }
      : {
          sql: `${CADENCE} IS NOT NULL AND (last_evaluated_at IS NULL OR last_evaluated_at < NOW(6) - INTERVAL ${CADENCE} SECOND)`,
          params: [],
        };
    try {
      const groups: DynamicGroupRow[] = await this.dataSource.query(
        `SELECT * FROM dynamic_group WHERE enabled = 1 AND frozen = 0 AND last_error IS NULL AND ${due.sql} ORDER BY last_evaluated_at LIMIT 100`,
        due.params,
      );
      full = groups.length === 100;
      if (gapAt && !full && this.dueBefore === gapAt) this.dueBefore = null;
      let refreshed = 0;
      for (const group of groups) {
        const claimed = await this.dataSource.query(
          `UPDATE dynamic_group SET claimed_at = NOW(6) WHERE group_id = ? AND (claimed_at IS NULL OR claimed_at < NOW(6) - INTERVAL 10 MINUTE)
             AND ${due.sql}`,
          [group.group_id, ...due.params],
        );
        if (!claimed.affectedRows) continue;
        await this.dataSource.transaction((manager) => this.refreshes.run(manager, group, 'scheduled', null));
        await this.dataSource.query('UPDATE dynamic_group SET claimed_at = NULL WHERE group_id = ?', [group.group_id]);
        refreshed++;
      }
      if (refreshed) {
        this.logger.log(`scheduled refresh of ${refreshed} groups`);
      }
      return refreshed;
    } finally {
      this.running = false;
      // More groups than one pass takes: the next pass at once, not in a minute.
      if (gapAt && full) setTimeout(() => void this.tick().catch(() => undefined), 0);
    }
  }
}
