import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** An event waiting to be published, written in the same transaction as the change it describes. */
@Entity('outbox')
@Index('ix_outbox_unsent', ['sentAt', 'id'])
@Index('ix_outbox_parked', ['parkedAt', 'orderKey'])
export class OutboxMessage {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** ce_id: fixed at write time so a re-publish after a crash carries the same idempotency key. */
  @Column({ name: 'event_id', type: 'char', length: 36, unique: true })
  eventId: string;

  @Column({ name: 'event_type', type: 'varchar', length: 255 })
  eventType: string;

  /** The aggregate id the Kafka key is built from (for logs and queries; the codec derives the key). */
  @Column({ name: 'aggregate_id', type: 'varchar', length: 255 })
  aggregateId: string;

  /** Topic and Kafka key, hashed: rows sharing it are published in id order, and wait behind a parked one. */
  @Column({ name: 'order_key', type: 'char', length: 40, nullable: true })
  orderKey: string | null;

  @Column({ type: 'json' })
  payload: unknown;

  /** More than one: a packed row (`outbox-batch.ts`), whose events the relay publishes one by one. */
  @Column({ name: 'event_count', type: 'int', default: 1 })
  eventCount: number;

  /** The payload's size as written: the relay bounds a send by it. */
  @Column({ name: 'payload_bytes', type: 'int', default: 0 })
  payloadBytes: number;

  @Column({ name: 'occurred_at', type: 'varchar', length: 40 })
  occurredAt: string;

  @Column({ name: 'correlation_id', type: 'varchar', length: 64, nullable: true })
  correlationId: string | null;

  @Column({ name: 'causation_id', type: 'varchar', length: 64, nullable: true })
  causationId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 6 })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'datetime', precision: 6, nullable: true })
  sentAt: Date | null;

  /**
   * Set when the row can never be published (it does not encode, the registry refuses its schema, the
   * broker refuses its size): later rows with its order key wait until an operator releases or drops it.
   */
  @Column({ name: 'parked_at', type: 'datetime', precision: 6, nullable: true })
  parkedAt: Date | null;

  /** Why it was parked. */
  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;
}
