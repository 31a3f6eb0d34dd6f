import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { EvaluationChunkRepository } from './evaluation-chunk.repository';

const KEEP_HOURS = 24;

/**
 * A run whose last chunk never came (the evaluator stopped half-way, the group was deleted) leaves
 * its chunks behind; a day later they are of no use, and are deleted hourly.
 */
@Injectable()
export class EvaluationChunksJanitor {
  private readonly logger = new Logger(EvaluationChunksJanitor.name);

  constructor(private readonly chunks: EvaluationChunkRepository) {}

  @Interval(60 * 60 * 1000)
  async prune(): Promise<number> {
    const pruned = await this.chunks.pruneOlderThan(KEEP_HOURS);
    if (pruned) this.logger.log(`pruned ${pruned} chunks of unfinished evaluation runs`);
    return pruned;
  }
}
