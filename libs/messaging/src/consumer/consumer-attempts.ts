import { DataSource } from 'typeorm';

/** The message a partition is retrying (or the run it was handed), and its deliveries that ended in a counted failure or never ended. */
export interface DeliveryAttempts {
  offset: string;
  /** The last offset of the run delivered with it (the message itself when retried alone). */
  lastOffset: string;
  attempts: number;
}

/**
 * Attempts at the message each partition of a consumer group is stuck on, counted before each
 * delivery: one row per partition in the service's own database (like ConsumerStalls), so that a
 * message that kills the process, or whose instance is killed, spends its retry budget across
 * restarts and rebalances instead of being delivered forever. A row naming an older offset is
 * stale (the partition moved on) and is replaced; one naming a later offset is kept.
 */
export class ConsumerAttempts {
  constructor(private readonly dataSource: DataSource) {}

  async get(group: string, topic: string, partition: number): Promise<DeliveryAttempts | undefined> {
    const [row] = await this.dataSource.query(
      'SELECT `offset`, last_offset, attempts FROM consumer_attempt WHERE consumer_group = ? AND topic = ? AND `partition` = ?',
      [group, topic, partition],
    );
    return row
      ? { offset: String(row.offset), lastOffset: String(row.last_offset), attempts: Number(row.attempts) }
      : undefined;
  }

  /**
   * Counts a delivery of the run `offset`..`lastOffset`, before it is handled; answers the row as it
   * now stands (the attempts of `offset`, this one included, when the row names it).
   */
  async begin(
    group: string,
    topic: string,
    partition: number,
    offset: string,
    lastOffset: string,
  ): Promise<DeliveryAttempts> {
    // ON DUPLICATE KEY UPDATE assigns left to right: attempts and last_offset still compare the old offset.
    await this.dataSource.query(
      `INSERT INTO consumer_attempt (consumer_group, topic, \`partition\`, \`offset\`, last_offset, attempts, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?)
       ON DUPLICATE KEY UPDATE
         attempts = IF(\`offset\` = VALUES(\`offset\`), attempts + 1, IF(\`offset\` < VALUES(\`offset\`), 1, attempts)),
         last_offset = IF(\`offset\` <= VALUES(\`offset\`), VALUES(last_offset), last_offset),
         updated_at = IF(\`offset\` <= VALUES(\`offset\`), VALUES(updated_at), updated_at),
         \`offset\` = GREATEST(\`offset\`, VALUES(\`offset\`))`,
      [group, topic, partition, offset, lastOffset, new Date()],
    );
    return (await this.get(group, topic, partition))!;
  }

  /** Sets the attempts of the message at `offset` (a delivery that must not count is given back; a counted failure is kept). */
  async set(group: string, topic: string, partition: number, offset: string, attempts: number): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO consumer_attempt (consumer_group, topic, \`partition\`, \`offset\`, last_offset, attempts, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE attempts = IF(\`offset\` <= VALUES(\`offset\`), VALUES(attempts), attempts),
         last_offset = IF(\`offset\` < VALUES(\`offset\`), VALUES(last_offset), last_offset),
         updated_at = IF(\`offset\` <= VALUES(\`offset\`), VALUES(updated_at), updated_at),
         \`offset\` = GREATEST(\`offset\`, VALUES(\`offset\`))`,
      [group, topic, partition, offset, offset, attempts, new Date()],
    );
  }

  /** The partition has handled (or dead-lettered) everything up to `offset`. */
  async cleared(group: string, topic: string, partition: number, offset: string): Promise<void> {
    await this.dataSource.query(
      'DELETE FROM consumer_attempt WHERE consumer_group = ? AND topic = ? AND `partition` = ? AND `offset` <= ?',
      [group, topic, partition, offset],
    );
  }
}
