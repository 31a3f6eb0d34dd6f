import { MigrationInterface, QueryRunner } from 'typeorm';

/** Why a dynamic group's last evaluation failed (it kept its members), until one succeeds. */
export class EvaluationError1764200000100 implements MigrationInterface {
  name = 'EvaluationError1764200000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE user_group ADD COLUMN evaluation_error TEXT NULL, ADD COLUMN evaluation_failed_at DATETIME(6) NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE user_group DROP COLUMN evaluation_error, DROP COLUMN evaluation_failed_at');
  }
}
