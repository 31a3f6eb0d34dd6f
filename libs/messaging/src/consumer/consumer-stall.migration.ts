import { MigrationInterface, QueryRunner } from 'typeorm';

/** Where each consumer group's partitions wait on an unavailable dependency, and since when (ConsumerStalls). */
export class ConsumerStall1764600000000 implements MigrationInterface {
  name = 'ConsumerStall1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS consumer_stall (
      consumer_group VARCHAR(190) NOT NULL,
      topic VARCHAR(249) NOT NULL,
      \`partition\` INT NOT NULL,
      \`offset\` BIGINT NOT NULL,
      first_failed_at DATETIME(3) NOT NULL,
      last_failed_at DATETIME(3) NOT NULL,
      last_error VARCHAR(2000) NOT NULL,
      PRIMARY KEY (consumer_group, topic, \`partition\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS consumer_stall');
  }
}
