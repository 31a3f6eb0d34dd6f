import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AuditTrigger = 'user' | 'scheduled' | 'event' | 'legacy' | 'reconciliation' | 'rerun';

/** Append-only history of a group: who changed what, why, and under which correlation id. */
@Entity('audit_event')
export class AuditEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'group_id', type: 'char', length: 36 })
  groupId: string;

  @Column({ name: 'user_id', type: 'bigint', nullable: true })
  userId: number | null;

  @Column({ type: 'varchar', length: 64 })
  action: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  actor: string | null;

  @Column({ type: 'varchar', length: 16 })
  trigger: AuditTrigger;

  @Column({ name: 'correlation_id', type: 'varchar', length: 64, nullable: true })
  correlationId: string | null;

  @Column({ type: 'json', nullable: true })
  details: Record<string, unknown> | null;

  @Column({ type: 'datetime', precision: 6 })
  at: Date;
}
