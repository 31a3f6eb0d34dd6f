import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { deleteOlderThan } from '@groups-sync/persistence';

const KEEP_DAYS = 2;

/** Pending writes only matter within the echo window (minutes); older ones are deleted hourly. */
@Injectable()
export class PendingWritesJanitor {
  private readonly logger = new Logger(PendingWritesJanitor.name);

  constructor(private readonly dataSource: DataSource) {}

  @Interval(60 * 60 * 1000)
  async prune(): Promise<number> {
    const pruned = await deleteOlderThan(this.dataSource, 'pending_lms_write', 'created_at', { days: KEEP_DAYS });
    if (pruned) this.logger.log(`pruned ${pruned} old pending LMS writes`);
    return pruned;
  }
}
