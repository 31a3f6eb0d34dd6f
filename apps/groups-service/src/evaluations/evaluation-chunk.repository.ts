import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, LessThanOrEqual } from 'typeorm';
import { deleteOlderThan, Replacement, scrubRows } from '@groups-sync/persistence';
import { EvaluationChunk } from './evaluation-chunk.entity';

/** Every query of the `evaluation_chunk` table: an evaluation run's chunks, staged until the run applies. */
@Injectable()
export class EvaluationChunkRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stages a chunk (again: a redelivered chunk changes nothing). */
  async stage(manager: EntityManager, chunk: EvaluationChunk): Promise<void> {
    await manager.createQueryBuilder().insert().into(EvaluationChunk).orIgnore().values(chunk).execute();
  }

  /** How many chunks of the run are staged, and the count they carry (0 until the last one is in). */
  async staged(manager: EntityManager, runId: string): Promise<{ received: number; chunks: number }> {
    const [row] = await manager.query(
      'SELECT COUNT(*) AS received, MAX(chunks) AS chunks FROM evaluation_chunk WHERE run_id = ?',
      [runId],
    );
    return { received: Number(row.received), chunks: Number(row.chunks) };
  }

  read(manager: EntityManager, runId: string, chunk: number): Promise<EvaluationChunk | null> {
    return manager.findOne(EvaluationChunk, { where: { runId, chunk } });
  }

  /** The run's chunks, and those of the group's runs evaluated no later (older, unfinished ones). */
  async deleteRunAndOlder(manager: EntityManager, runId: string, groupId: string, evaluatedAt: Date): Promise<void> {
    await manager.delete(EvaluationChunk, { runId });
    await manager.delete(EvaluationChunk, { groupId, evaluatedAt: LessThanOrEqual(evaluatedAt) });
  }

  /** Deletes the chunks received more than `hours` ago; answers how many. */
  pruneOlderThan(hours: number): Promise<number> {
    return deleteOlderThan(this.dataSource, 'evaluation_chunk', 'received_at', { hours });
  }

  /** A retired user's identifiers out of the staged members. */
  async retire(manager: EntityManager, replacements: Replacement[]): Promise<void> {
    await scrubRows(
      manager,
      {
        table: 'evaluation_chunk',
        key: "CONCAT(run_id, '#', LPAD(chunk, 10, '0'))",
        columns: [{ name: 'members', kind: 'json' }],
      },
      replacements,
    );
  }
}
