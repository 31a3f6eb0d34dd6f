import { Logger } from '@nestjs/common';
import { ConsumerAttempts, DeliveryAttempts } from './consumer-attempts';
import { PartitionMap, PartitionRef, PartitionSet } from './partition-map';

export type AttemptStore = Pick<ConsumerAttempts, 'get' | 'begin' | 'set' | 'cleared'>;

/**
 * Deliveries of the message each partition is retrying, counted in ConsumerAttempts before each
 * delivery while the partition is retried and, after each assignment, until the partition's first
 * commit (a process killed mid-batch committed nothing, and its successor must not deliver the
 * message forever). Without a store, nothing is counted here. Outside those windows it writes nothing.
 */
export class AttemptTracker {
  /** Partitions that committed an offset since the last assignment. */
  private readonly committed = new PartitionSet();
  /** The row of each partition as this member last read or wrote it (null: none). */
  private readonly rows = new PartitionMap<DeliveryAttempts | null>();

  constructor(
    private readonly groupId: string,
    private readonly store: AttemptStore | undefined,
    private readonly logger: Logger,
  ) {}

  /** A new assignment: the partitions kept are read again. */
  reset(): void {
    this.committed.clear();
    this.rows.clear();
  }

  markCommitted(at: PartitionRef): void {
    this.committed.add(at);
  }

  /**
   * Before a fetched batch, while the partition has not committed since its assignment: a row naming
   * one of its messages is a delivery that did not end (the process was killed mid-batch) or failed;
   * answers the end of that run, to be retried message by message.
   */
  async unfinishedRun(at: PartitionRef, firstOffset: string, lastOffset: string): Promise<bigint | undefined> {
    if (!this.store || this.committed.has(at)) return undefined;
    const row = await this.row(at);
    if (
      row &&
      row.attempts > 0 &&
      BigInt(row.offset) >= BigInt(firstOffset) &&
      BigInt(row.offset) <= BigInt(lastOffset)
    )
      return BigInt(row.lastOffset);
    return undefined;
  }

  /**
   * Counts this delivery of `first`..`last` before it is handled, when the partition is being
   * retried or has not committed since its assignment. Answers the row when it names `first`.
   */
  async begin(at: PartitionRef, first: string, last: string, retrying: boolean): Promise<DeliveryAttempts | undefined> {
    if (!this.store || (this.committed.has(at) && !retrying)) return undefined;
    try {
      const row = await this.store.begin(this.groupId, at.topic, at.partition, first, last);
      this.rows.set(at, row);
      return row.offset === first ? row : undefined;
    } catch (e) {
      this.logger.warn(
        `counting the delivery of ${at.topic}[${at.partition}]@${first} failed: ${(e as Error).message}`,
      );
      return undefined;
    }
  }

  /** A begun delivery that must not count (a batch's, a wait for a dependency, a stop): given back. */
  async giveBack(at: PartitionRef, offset: string, begun: DeliveryAttempts | undefined): Promise<void> {
    if (begun) await this.record(at, offset, begun.attempts - 1);
  }

  async record(at: PartitionRef, offset: string, attempts: number): Promise<void> {
    if (!this.store) return;
    try {
      await this.store.set(this.groupId, at.topic, at.partition, offset, attempts);
      const row = this.rows.get(at);
      if (!row || BigInt(row.offset) < BigInt(offset)) this.rows.set(at, { offset, lastOffset: offset, attempts });
      else if (row.offset === offset) row.attempts = attempts;
    } catch (e) {
      this.logger.warn(
        `recording the attempts of ${at.topic}[${at.partition}]@${offset} failed: ${(e as Error).message}`,
      );
    }
  }

  /** The partition is past `offset`: its row, if this member knows of one (or does not know), goes. */
  async clear(at: PartitionRef, offset: string): Promise<void> {
    if (!this.store) return;
    const row = this.rows.get(at);
    if (row === null || (row && BigInt(row.offset) > BigInt(offset))) return;
    // One attempt even if it fails, as for stalls: a row left behind names a message already past, and is replaced.
    this.rows.set(at, null);
    try {
      await this.store.cleared(this.groupId, at.topic, at.partition, offset);
    } catch (e) {
      this.logger.warn(`clearing the attempts of ${at.topic}[${at.partition}] failed: ${(e as Error).message}`);
    }
  }

  /** The partition's row, read once per assignment; undefined when there is none or the database cannot answer. */
  private async row(at: PartitionRef): Promise<DeliveryAttempts | undefined> {
    if (!this.rows.has(at)) {
      try {
        this.rows.set(at, (await this.store!.get(this.groupId, at.topic, at.partition)) ?? null);
      } catch (e) {
        this.logger.warn(`reading the attempts of ${at.topic}[${at.partition}] failed: ${(e as Error).message}`);
      }
    }
    return this.rows.get(at) ?? undefined;
  }
}
