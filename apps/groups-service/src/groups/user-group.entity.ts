import { Column, Entity, OneToMany, PrimaryColumn } from 'typeorm';
import { Criterion } from './criterion.entity';

import { ScopeType } from '@groups-sync/contracts';

export { ScopeType };
export type GroupKind = 'manual' | 'dynamic' | 'legacy';

const bool = { to: (v: boolean) => (v ? 1 : 0), from: (v: number | boolean) => !!v };

@Entity('user_group')
export class UserGroup {
  @PrimaryColumn({ type: 'char', length: 36 })
  id: string;

  @Column({ name: 'scope_type', type: 'varchar', length: 16 })
  scopeType: ScopeType;

  @Column({ name: 'scope_key', type: 'varchar', length: 255 })
  scopeKey: string;

  @Column({ type: 'varchar', length: 255 })
  name: string;

  @Column({ type: 'text' })
  description: string;

  @Column({ type: 'varchar', length: 16 })
  kind: GroupKind;

  /** Named exclusivity collection: a user is in at most one group of it (per scope). */
  @Column({ type: 'varchar', length: 255, nullable: true })
  collection: string | null;

  @Column({ type: 'tinyint', transformer: bool })
  enabled: boolean;

  @Column({ type: 'tinyint', transformer: bool })
  frozen: boolean;

  @Column({ name: 'refresh_cadence_seconds', type: 'int', nullable: true })
  refreshCadenceSeconds: number | null;

  /** The shortest default cadence of the group's criteria; the override above wins. */
  @Column({ name: 'default_refresh_seconds', type: 'int', nullable: true })
  defaultRefreshSeconds: number | null;

  @Column({ name: 'last_refreshed_at', type: 'datetime', precision: 6, nullable: true })
  lastRefreshedAt: Date | null;

  /** Why the last evaluation failed (the group kept its members); cleared by the next applied one. */
  @Column({ name: 'evaluation_error', type: 'text', nullable: true })
  evaluationError: string | null;

  @Column({ name: 'evaluation_failed_at', type: 'datetime', precision: 6, nullable: true })
  evaluationFailedAt: Date | null;

  /** Optimistic concurrency: the ETag of the group; bumped by every change. */
  @Column({ type: 'int' })
  version: number;

  @Column({ name: 'created_by', type: 'varchar', length: 255, nullable: true })
  createdBy: string | null;

  @Column({ name: 'updated_by', type: 'varchar', length: 255, nullable: true })
  updatedBy: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 6 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 6 })
  updatedAt: Date;

  /** A manual group is copied, empty, into a rerun of its course only when asked (reruns/). */
  @Column({ name: 'carry_over_on_rerun', type: 'tinyint', transformer: bool, default: 0 })
  carryOverOnRerun: boolean;

  /** The group of the earlier run this one was carried over from, and that run's key. */
  @Column({ name: 'rerun_of_group_id', type: 'char', length: 36, nullable: true })
  rerunOfGroupId: string | null;

  @Column({ name: 'rerun_of_course_key', type: 'varchar', length: 255, nullable: true })
  rerunOfCourseKey: string | null;

  @Column({ name: 'deleted_at', type: 'datetime', precision: 6, nullable: true })
  deletedAt: Date | null;

  @OneToMany(() => Criterion, (c) => c.group, { cascade: ['insert'] })
  criteria: Criterion[];
}
