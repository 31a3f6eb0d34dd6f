import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { MembershipOrigin } from '@groups-sync/contracts';

export type SyncState = 'pending' | 'synced' | 'rejected';

/** A user's membership of a group. Removal keeps the row (history); re-adding reactivates it. */
@Entity('membership')
export class Membership {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'group_id', type: 'char', length: 36 })
  groupId: string;

  @Column({
    name: 'user_id',
    type: 'bigint',
    transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) },
  })
  userId: number;

  @Column({ type: 'varchar', length: 150 })
  username: string;

  @Column({ type: 'tinyint', transformer: { to: (v: boolean) => (v ? 1 : 0), from: (v: number) => !!v } })
  active: boolean;

  @Column({ name: 'joined_at', type: 'datetime', precision: 6 })
  joinedAt: Date;

  @Column({ name: 'left_at', type: 'datetime', precision: 6, nullable: true })
  leftAt: Date | null;

  @Column({ type: 'varchar', length: 16 })
  origin: MembershipOrigin;

  /** groups-service's time of the change that set the current state; sync results are compared with it. */
  @Column({ name: 'changed_at', type: 'datetime', precision: 6 })
  changedAt: Date;

  /** The LMS's time of the latest LMS observation of this user in this group's cohort: compared only with LMS times. */
  @Column({ name: 'legacy_observed_at', type: 'datetime', precision: 6, nullable: true })
  legacyObservedAt: Date | null;

  /** While our write is in flight: the group of the latest LMS observation it superseded. */
  @Column({ name: 'superseded_by_group_id', type: 'char', length: 36, nullable: true })
  supersededByGroupId: string | null;

  @Column({ name: 'sync_state', type: 'varchar', length: 16, nullable: true })
  syncState: SyncState | null;

  @Column({ name: 'sync_error', type: 'text', nullable: true })
  syncError: string | null;
}
