import { MigrationInterface, QueryRunner } from 'typeorm';

/** The dynamic groups the evaluator refreshes, as groups-service's lifecycle events describe them. */
export class DynamicGroups1764200000400 implements MigrationInterface {
  name = 'DynamicGroups1764200000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE dynamic_group (
      group_id CHAR(36) NOT NULL,
      scope_type VARCHAR(16) NOT NULL,
      scope_key VARCHAR(255) NOT NULL,
      criteria LONGTEXT NOT NULL,
      enabled TINYINT(1) NOT NULL,
      version INT NOT NULL,
      cadence_seconds INT NULL,
      claimed_at DATETIME(6) NULL,
      last_run_id CHAR(36) NULL,
      last_evaluated_at DATETIME(6) NULL,
      last_member_count INT NULL,
      last_error TEXT NULL,
      PRIMARY KEY (group_id),
      KEY ix_dynamic_group_due (enabled, last_evaluated_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS dynamic_group');
  }
}
