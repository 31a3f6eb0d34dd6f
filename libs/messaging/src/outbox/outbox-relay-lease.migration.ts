import { MigrationInterface, QueryRunner } from 'typeorm';

/** The relay's lease (OutboxRelayLease): one row per service, renewed on the database's clock. */
export class OutboxRelayLease1764500000000 implements MigrationInterface {
  name = 'OutboxRelayLease1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS outbox_relay_lease (
      name VARCHAR(64) NOT NULL,
      holder VARCHAR(255) NOT NULL,
      acquired_at DATETIME(6) NOT NULL,
      expires_at DATETIME(6) NOT NULL,
      PRIMARY KEY (name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS outbox_relay_lease');
  }
}
