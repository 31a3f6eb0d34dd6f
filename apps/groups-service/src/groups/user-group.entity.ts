import { Column, Entity, OneToMany, PrimaryColumn, VersionColumn } from 'typeorm';
import { Criterion } from './criterion.entity';

export type ScopeType = 'course' | 'org' | 'instance';
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

  @Column({ type: 'tinyint', transformer: bool })
  enabled: boolean;

  @Column({ type: 'tinyint', transformer: bool })
  frozen: boolean;

  @Column({ name: 'refresh_cadence_seconds', type: 'int', nullable: true })
  refreshCadenceSeconds: number | null;

  @Column({ name: 'last_refreshed_at', type: 'datetime', precision: 6, nullable: true })
  lastRefreshedAt: Date | null;

  @VersionColumn()
  version: number;

  @Column({ name: 'created_by', type: 'varchar', length: 255, nullable: true })
  createdBy: string | null;

  @Column({ name: 'updated_by', type: 'varchar', length: 255, nullable: true })
  updatedBy: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 6 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 6 })
  updatedAt: Date;

  @Column({ name: 'deleted_at', type: 'datetime', precision: 6, nullable: true })
  deletedAt: Date | null;

  @OneToMany(() => Criterion, (c) => c.group, { cascade: ['insert'] })
  criteria: Criterion[];
}
