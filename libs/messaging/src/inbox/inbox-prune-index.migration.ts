import { MigrationInterface, QueryRunner } from 'typeorm';

/** The inbox is pruned by age (OutboxRelay.prune): an index on processed_at, so that deletes only the old rows' range instead of scanning the table. */
export class InboxPruneIndex1764400000000 implements MigrationInterface {
  name = 'InboxPruneIndex1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE inbox ADD KEY ix_inbox_processed_at (processed_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE inbox DROP KEY ix_inbox_processed_at');
  }
}
