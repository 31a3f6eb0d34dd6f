import { Logger } from '@nestjs/common';
import { ConsumerStalls } from './consumer-stalls';
import { PartitionMap, PartitionRef, PartitionSet } from './partition-map';

/**
 * The message each failing partition of this member is stuck on and since when (the stall gauge
 * and the outage budget), kept in ConsumerStalls when the service has a database so that a
 * rebalance or a restart does not start a message's outage budget afresh.
 */
export class StallTracker {
  private readonly stalled = new PartitionMap<{ offset: string; since: Date }>();
  /** Partitions with no stall row left in ConsumerStalls, as far as this member knows. */
  private readonly unstalled = new PartitionSet();

  constructor(
    private readonly groupId: string,
    private readonly store: ConsumerStalls | undefined,
    private readonly logger: Logger,
  ) {}

  /** A new assignment: a partition kept is read again from ConsumerStalls at its next failure. */
  reset(): void {
    this.stalled.clear();
    this.unstalled.clear();
  }

  /** How long the longest-stuck partition has been failing on one message (0: none). */
  stalledSeconds(now = Date.now()): number {
    let oldest = Infinity;
    for (const { since } of this.stalled.values()) oldest = Math.min(oldest, since.getTime());
    return oldest === Infinity ? 0 : Math.max(0, (now - oldest) / 1000);
  }

  stuck(at: PartitionRef, offset: string, since: Date): void {
    this.stalled.set(at, { offset, since });
  }

  /**
   * When the message first failed for an unavailable dependency: the stall row's time, which a
   * previous owner of the partition may have written; `fallback` (this member's) if the database
   * cannot answer, or is the earlier.
   */
  async outageStart(at: PartitionRef, offset: string, fallback: Date, error: string): Promise<Date> {
    if (!this.store) return fallback;
    try {
      const since = await this.store.failed(this.groupId, at.topic, at.partition, offset, error, fallback);
      this.unstalled.delete(at);
      return since < fallback ? since : fallback;
    } catch (e) {
      this.logger.warn(`recording the stall of ${at.topic}[${at.partition}]@${offset} failed: ${(e as Error).message}`);
      return fallback;
    }
  }

  /** The partition is past `offset` (or held): its stall, if any, ends; the stall row goes, one delete per partition and stall. */
  async clear(at: PartitionRef, offset: string): Promise<void> {
    const stall = this.stalled.get(at);
    if (stall && BigInt(stall.offset) <= BigInt(offset)) this.stalled.delete(at);
    if (!this.store || this.unstalled.has(at)) return;
    // One attempt even if it fails: a database that is down must not slow every batch. A row left
    // behind names a message already past, and the partition's next stall replaces it.
    this.unstalled.add(at);
    try {
      await this.store.cleared(this.groupId, at.topic, at.partition, offset);
    } catch (e) {
      this.logger.warn(`clearing the stall of ${at.topic}[${at.partition}] failed: ${(e as Error).message}`);
    }
  }
}
