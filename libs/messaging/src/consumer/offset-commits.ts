import { Logger } from '@nestjs/common';
import { PartitionMap, PartitionRef } from './partition-map';

type Committed = { topic: string; partition: number; offset: string };

/**
 * The next offset to commit per partition, committed by the runner on its own timer; only offsets
 * of the current assignment (`generation`): after a rebalance, a partition may be another member's.
 */
export class OffsetCommits {
  private readonly pending = new PartitionMap<string>();

  constructor(
    private readonly commitOffsets: (offsets: Committed[]) => Promise<unknown>,
    private readonly generation: () => number,
    private readonly logger: Logger,
  ) {}

  /** Everything up to `offset` was handled, skipped or dead-lettered during assignment `generation`. */
  done(at: PartitionRef, offset: string, generation: number): void {
    if (generation !== this.generation()) return; // handed over before a rebalance: the partition's offsets are no longer this member's to commit
    this.pending.set(at, (BigInt(offset) + 1n).toString());
  }

  /** A new assignment: offsets held for partitions this member may have lost are stale. */
  clear(): void {
    this.pending.clear();
  }

  /** Commits what is pending; answers the partitions committed during the assignment still current. */
  async commit(): Promise<PartitionRef[]> {
    if (!this.pending.size) return [];
    const offsets = this.pending.list();
    this.pending.clear();
    const generation = this.generation();
    try {
      await this.commitOffsets(offsets.map(([at, offset]) => ({ topic: at.topic, partition: at.partition, offset })));
      return generation === this.generation() ? offsets.map(([at]) => at) : [];
    } catch (error) {
      // Most likely a rebalance: the new owner starts from the last commit and the inbox skips
      // repeats. Kept for the next commit unless a newer offset came meanwhile (a quiet partition
      // would otherwise never commit what it handled). Not after a rebalance: the partition may be
      // another member's now, and an old offset committed over its progress would rewind it.
      if (generation === this.generation())
        for (const [at, offset] of offsets) if (!this.pending.has(at)) this.pending.set(at, offset);
      this.logger.warn(`committing offsets failed: ${(error as Error).message}`);
      return [];
    }
  }
}
