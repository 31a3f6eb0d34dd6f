import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A received chunk of an evaluation run, kept until the run's last chunk arrives and the set is applied. */
@Entity('evaluation_chunk')
export class EvaluationChunk {
  @PrimaryColumn({ name: 'run_id', type: 'varchar', length: 64 })
  runId: string;

  @PrimaryColumn({ type: 'int' })
  chunk: number;

  @Column({ name: 'group_id', type: 'char', length: 36 })
  groupId: string;

  @Column({ type: 'int' })
  chunks: number;

  @Column({ type: 'json' })
  members: Array<{ user_id: number; username: string }>;

  @Column({ name: 'evaluated_at', type: 'datetime', precision: 6 })
  evaluatedAt: Date;

  @Column({ name: 'received_at', type: 'datetime', precision: 6 })
  receivedAt: Date;
}
