import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';

const KEEP_DAYS = 2;

/** Pending writes only matter within the echo window (minutes); older ones are deleted hourly. */
@Injectable()
export class PendingWritesJanitor {
  private readonly logger = new Logger(PendingWritesJanitor.name);

  constructor(private readonly dataSource: DataSource) {}

  @Interval(60 * 60 * 1000)
  async prune(): Promise<number> {
    const result = await this.dataSource.query('DELETE FROM pending_lms_write WHERE created_at < NOW(6) - INTERVAL ? DAY LIMIT 10000', [KEEP_DAYS]);
    if (result.affectedRows) this.logger.log(`pruned ${result.affectedRows} old pending LMS writes`);
    return result.affectedRows ?? 0;
  }
}
