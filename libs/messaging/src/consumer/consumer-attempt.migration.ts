import { MigrationInterface, QueryRunner } from 'typeorm';

/** Deliveries of the message each consumer group's partition is retrying, or handling after an assignment (ConsumerAttempts). */
export class ConsumerAttempt1764800000000 implements MigrationInterface {
  name = 'ConsumerAttempt1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS consumer_attempt (
      consumer_group VARCHAR(190) NOT NULL,
      topic VARCHAR(249) NOT NULL,
      \`partition\` INT NOT NULL,
      \`offset\` BIGINT NOT NULL,
      last_offset BIGINT NOT NULL,
      attempts INT NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      PRIMARY KEY (consumer_group, topic, \`partition\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS consumer_attempt');
  }
}
