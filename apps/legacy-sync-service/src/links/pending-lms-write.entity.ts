import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A write we are about to make in the LMS, recorded (and committed) before the call, so the LMS's
 * echo of it (COHORT_MEMBERSHIP_CHANGED) is recognised and goes no further.
 */
@Entity('pending_lms_write')
export class PendingLmsWrite {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'group_id', type: 'char', length: 36 })
  groupId: string;

  @Column({ name: 'course_key', type: 'varchar', length: 255 })
  courseKey: string;

  @Column({ name: 'legacy_id', type: 'varchar', length: 64 })
  legacyId: string;

  @Column({ name: 'user_id', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  userId: number;

  @Column({ type: 'varchar', length: 16 })
  action: 'added' | 'removed';

  @Column({ name: 'source_event_id', type: 'varchar', length: 64 })
  sourceEventId: string;

  /** The occurred_at (groups-service's clock) of the membership change this write carries out. */
  @Column({ name: 'change_occurred_at', type: 'varchar', length: 40, nullable: true })
  changeOccurredAt: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 6 })
  createdAt: Date;

  @Column({ name: 'confirmed_at', type: 'datetime', precision: 6, nullable: true })
  confirmedAt: Date | null;
}
