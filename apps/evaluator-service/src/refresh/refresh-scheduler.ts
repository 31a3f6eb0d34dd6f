import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { OutboxRelay } from '@groups-sync/messaging';
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
export class RefreshScheduler {
  private readonly logger = new Logger(RefreshScheduler.name);
  private running = false;

  constructor(private readonly dataSource: DataSource, private readonly refreshes: RefreshRuns, private readonly relay: OutboxRelay) {}

  @Interval(60_000)
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const due: DynamicGroupRow[] = await this.dataSource.query(
        `SELECT * FROM dynamic_group WHERE enabled = 1 AND frozen = 0 AND last_error IS NULL AND ${CADENCE} IS NOT NULL
           AND (last_evaluated_at IS NULL OR last_evaluated_at < NOW(6) - INTERVAL ${CADENCE} SECOND) ORDER BY last_evaluated_at LIMIT 100`);
      let refreshed = 0;
      for (const group of due) {
        const claimed = await this.dataSource.query(
          `UPDATE dynamic_group SET claimed_at = NOW(6) WHERE group_id = ? AND (claimed_at IS NULL OR claimed_at < NOW(6) - INTERVAL 10 MINUTE)
             AND (last_evaluated_at IS NULL OR last_evaluated_at < NOW(6) - INTERVAL ${CADENCE} SECOND)`, [group.group_id]);
        if (!claimed.affectedRows) continue;
        await this.dataSource.transaction((manager) => this.refreshes.run(manager, group, 'scheduled', null));
        await this.dataSource.query('UPDATE dynamic_group SET claimed_at = NULL WHERE group_id = ?', [group.group_id]);
        refreshed++;
      }
      if (refreshed) {
        this.relay.notify();
        this.logger.log(`scheduled refresh of ${refreshed} groups`);
      }
      return refreshed;
    } finally {
      this.running = false;
    }
  }
}
