import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Parked rows: `failed_at` becomes `parked_at`, and `order_key` (topic and Kafka key, hashed) says
 * which later rows a parked row holds back. Rows written before this have no order key: the relay
 * computes it when it reads them; rows set aside before it hold nothing back.
 */
export class OutboxParking1764500000100 implements MigrationInterface {
  name = 'OutboxParking1764500000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox
      CHANGE COLUMN failed_at parked_at DATETIME(6) NULL,
      ADD COLUMN order_key CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER aggregate_id,
      ADD KEY ix_outbox_parked (parked_at, order_key)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE outbox DROP KEY ix_outbox_parked, DROP COLUMN order_key, CHANGE COLUMN parked_at failed_at DATETIME(6) NULL',
    );
  }
}
