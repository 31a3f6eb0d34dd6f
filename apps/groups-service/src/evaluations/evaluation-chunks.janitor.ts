import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';

const KEEP_HOURS = 24;

/**
 * A run whose last chunk never came (the evaluator stopped half-way, the group was deleted) leaves
 * its chunks behind; a day later they are of no use, and are deleted hourly.
 */
@Injectable()
export class EvaluationChunksJanitor {
  private readonly logger = new Logger(EvaluationChunksJanitor.name);

  constructor(private readonly dataSource: DataSource) {}

  @Interval(60 * 60 * 1000)
  async prune(): Promise<number> {
    const result = await this.dataSource.query('DELETE FROM evaluation_chunk WHERE received_at < NOW(6) - INTERVAL ? HOUR LIMIT 10000', [KEEP_HOURS]);
    if (result.affectedRows) this.logger.log(`pruned ${result.affectedRows} chunks of unfinished evaluation runs`);
    return result.affectedRows ?? 0;
  }
}
