import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** An event a consumer group has applied; written in the same transaction as the effect. */
@Entity('inbox')
export class InboxEntry {
  @PrimaryColumn({ name: 'consumer_group', type: 'varchar', length: 190 })
  consumerGroup: string;

  @PrimaryColumn({ name: 'event_id', type: 'varchar', length: 64 })
  eventId: string;

  @Column({ name: 'event_type', type: 'varchar', length: 255 })
  eventType: string;

  @CreateDateColumn({ name: 'processed_at', type: 'datetime', precision: 6 })
  processedAt: Date;
}
