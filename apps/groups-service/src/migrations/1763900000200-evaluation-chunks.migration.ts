import { MigrationInterface, QueryRunner } from 'typeorm';

/** Chunks of evaluation runs waiting for the rest of their run. */
export class EvaluationChunks1763900000200 implements MigrationInterface {
  name = 'EvaluationChunks1763900000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE evaluation_chunk (
      run_id VARCHAR(64) NOT NULL, chunk INT NOT NULL, group_id CHAR(36) NOT NULL, chunks INT NOT NULL, members JSON NOT NULL,
      evaluated_at DATETIME(6) NOT NULL, received_at DATETIME(6) NOT NULL,
      PRIMARY KEY (run_id, chunk), KEY ix_evaluation_chunk_group (group_id, evaluated_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE evaluation_chunk');
  }
}
