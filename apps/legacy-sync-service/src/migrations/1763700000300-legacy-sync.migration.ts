import { MigrationInterface, QueryRunner } from 'typeorm';

export class LegacySync1763700000300 implements MigrationInterface {
  name = 'LegacySync1763700000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE legacy_link (
      group_id CHAR(36) NOT NULL,
      course_key VARCHAR(255) NOT NULL,
      legacy_type VARCHAR(32) NOT NULL,
      legacy_id VARCHAR(64) NULL,
      group_name VARCHAR(255) NOT NULL,
      state VARCHAR(16) NOT NULL,
      last_error TEXT NULL,
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (group_id),
      KEY ix_legacy_link_legacy (course_key, legacy_type, legacy_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE pending_lms_write (
      id BIGINT NOT NULL AUTO_INCREMENT,
      group_id CHAR(36) NOT NULL,
      course_key VARCHAR(255) NOT NULL,
      legacy_id VARCHAR(64) NOT NULL,
      user_id BIGINT NOT NULL,
      action VARCHAR(16) NOT NULL,
      source_event_id VARCHAR(64) NOT NULL,
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      confirmed_at DATETIME(6) NULL,
      PRIMARY KEY (id),
      KEY ix_pending_lookup (course_key, legacy_id, user_id, confirmed_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS pending_lms_write');
    await q.query('DROP TABLE IF EXISTS legacy_link');
  }
}
