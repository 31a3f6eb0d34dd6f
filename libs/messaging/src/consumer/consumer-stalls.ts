import { DataSource } from 'typeorm';

/**
 * The message each partition of a consumer group is stuck on while a dependency is down, and when
 * it first failed: one row per partition in the service's own database, so that a message's outage
 * budget runs from its first failure whichever member holds the partition, across rebalances and
 * restarts. A row naming an older offset is stale (the partition moved on) and is replaced.
 */
export class ConsumerStalls {
  constructor(private readonly dataSource: DataSource) {}

  /** Records a failure of the message at `offset`; answers when that message first failed (`at` if this is its first). */
  async failed(
    group: string,
    topic: string,
    partition: number,
    offset: string,
    error: string,
    at: Date,
  ): Promise<Date> {
    // ON DUPLICATE KEY UPDATE assigns left to right: first_failed_at still compares the old offset.
    await this.dataSource.query(
      `INSERT INTO consumer_stall (consumer_group, topic, \`partition\`, \`offset\`, first_failed_at, last_failed_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE first_failed_at = IF(\`offset\` = VALUES(\`offset\`), first_failed_at, VALUES(first_failed_at)),
         \`offset\` = VALUES(\`offset\`), last_failed_at = VALUES(last_failed_at), last_error = VALUES(last_error)`,
      [group, topic, partition, offset, at, new Date(), error.slice(0, 2000)],
    );
    const [row] = await this.dataSource.query(
      'SELECT first_failed_at FROM consumer_stall WHERE consumer_group = ? AND topic = ? AND `partition` = ?',
      [group, topic, partition],
    );
    return new Date(row.first_failed_at);
  }

  /** The partition has handled (or dead-lettered) everything up to `offset`. */
  async cleared(group: string, topic: string, partition: number, offset: string): Promise<void> {
    await this.dataSource.query(
      'DELETE FROM consumer_stall WHERE consumer_group = ? AND topic = ? AND `partition` = ? AND `offset` <= ?',
      [group, topic, partition, offset],
    );
  }
}
