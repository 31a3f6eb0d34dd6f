import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConsumerAttempt1764800000000 } from '../consumer/consumer-attempt.migration';
import { ConsumerStall1764600000000 } from '../consumer/consumer-stall.migration';
import { InboxPruneIndex1764400000000 } from '../inbox/inbox-prune-index.migration';
import { OutboxPackedRows1764700000000 } from './outbox-packed-rows.migration';
import { OutboxParking1764500000100 } from './outbox-parking.migration';
import { OutboxRelayLease1764500000000 } from './outbox-relay-lease.migration';

/** The outbox and inbox tables; every service that produces or consumes includes this migration. */
export class MessagingTables1763700000000 implements MigrationInterface {
  name = 'MessagingTables1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS outbox (
      id BIGINT NOT NULL AUTO_INCREMENT,
      event_id CHAR(36) NOT NULL,
      event_type VARCHAR(255) NOT NULL,
      aggregate_id VARCHAR(255) NOT NULL,
      payload JSON NOT NULL,
      occurred_at VARCHAR(40) NOT NULL,
      correlation_id VARCHAR(64) NULL,
      causation_id VARCHAR(64) NULL,
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      sent_at DATETIME(6) NULL,
      failed_at DATETIME(6) NULL,
      last_error TEXT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_outbox_event_id (event_id),
      KEY ix_outbox_unsent (sent_at, id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE IF NOT EXISTS inbox (
      consumer_group VARCHAR(190) NOT NULL,
      event_id VARCHAR(64) NOT NULL,
      event_type VARCHAR(255) NOT NULL,
      processed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (consumer_group, event_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS inbox');
    await q.query('DROP TABLE IF EXISTS outbox');
  }
}

/** Every migration of the messaging tables, in order: each service that produces or consumes runs them all. */
export const MESSAGING_MIGRATIONS = [
  MessagingTables1763700000000,
  InboxPruneIndex1764400000000,
  OutboxRelayLease1764500000000,
  OutboxParking1764500000100,
  ConsumerStall1764600000000,
  OutboxPackedRows1764700000000,
  ConsumerAttempt1764800000000,
];
