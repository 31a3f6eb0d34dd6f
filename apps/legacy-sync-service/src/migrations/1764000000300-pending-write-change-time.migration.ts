import { MigrationInterface, QueryRunner } from 'typeorm';

/** The occurred_at of the membership change a pending write carries out, so its echo can say which change it echoes. */
export class PendingWriteChangeTime1764000000300 implements MigrationInterface {
  name = 'PendingWriteChangeTime1764000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE pending_lms_write ADD COLUMN change_occurred_at VARCHAR(40) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE pending_lms_write DROP COLUMN change_occurred_at');
  }
}
