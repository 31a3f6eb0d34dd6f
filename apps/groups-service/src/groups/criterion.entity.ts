import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Relation } from 'typeorm';
import { UserGroup } from './user-group.entity';

/** One selection rule of a group; a legacy criterion keeps the legacy group's id in `config`. */
@Entity('criterion')
export class Criterion {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'group_id', type: 'char', length: 36 })
  groupId: string;

  // Relation<>: no design-time type read at load, so the two entities load in either order (they import each other).
  @ManyToOne(() => UserGroup, (g) => g.criteria)
  @JoinColumn({ name: 'group_id' })
  group: Relation<UserGroup>;

  @Column({ type: 'tinyint' })
  position: number;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ type: 'varchar', length: 16 })
  operator: string;

  @Column({ type: 'json', nullable: true })
  value: unknown;

  @Column({ type: 'json', nullable: true })
  config: Record<string, unknown> | null;
}
