import { MigrationInterface, QueryRunner } from 'typeorm';

/** The criterion types each evaluator announced as installed: groups are validated against the newest announcement. */
export class CriterionTypes1764300000100 implements MigrationInterface {
  name = 'CriterionTypes1764300000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE criterion_type_announcement (
      source VARCHAR(64) NOT NULL,
      announced_at DATETIME(6) NOT NULL,
      types LONGTEXT NOT NULL,
      load_errors LONGTEXT NOT NULL,
      received_at DATETIME(6) NOT NULL,
      PRIMARY KEY (source)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS criterion_type_announcement');
  }
}
