import { MigrationInterface, QueryRunner } from 'typeorm';

/** Pending writes are pruned by age (PendingWritesJanitor): an index on created_at, so that deletes only the old rows' range instead of scanning the table. */
export class PendingWritePruneIndex1764400000300 implements MigrationInterface {
  name = 'PendingWritePruneIndex1764400000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE pending_lms_write ADD KEY ix_pending_created (created_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE pending_lms_write DROP KEY ix_pending_created');
  }
}
