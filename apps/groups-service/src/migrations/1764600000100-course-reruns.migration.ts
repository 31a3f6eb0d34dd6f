import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Course reruns (reruns/): each group knows the group it was carried over from, a manual group
 * whether it is carried over at all, and each rerun is recorded once (its new run's key), with what
 * it copied; `rerun_cursor` is how far the LMS's rerun table has been read, on the LMS's clock.
 */
export class CourseReruns1764600000100 implements MigrationInterface {
  name = 'CourseReruns1764600000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE user_group
      ADD COLUMN carry_over_on_rerun TINYINT(1) NOT NULL DEFAULT 0,
      ADD COLUMN rerun_of_group_id CHAR(36) NULL,
      ADD COLUMN rerun_of_course_key VARCHAR(255) NULL`);
    await q.query(`CREATE TABLE course_rerun (
      course_key VARCHAR(255) NOT NULL,
      source_course_key VARCHAR(255) NOT NULL,
      noticed_by VARCHAR(16) NOT NULL,
      requested_by VARCHAR(255) NULL,
      lms_updated_at DATETIME(6) NULL,
      applied_at DATETIME(6) NOT NULL,
      report TEXT NOT NULL,
      PRIMARY KEY (course_key),
      KEY course_rerun_lms_updated (lms_updated_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE rerun_cursor (
      id TINYINT NOT NULL,
      lms_since DATETIME(6) NOT NULL,
      PRIMARY KEY (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS rerun_cursor');
    await q.query('DROP TABLE IF EXISTS course_rerun');
    await q.query(
      'ALTER TABLE user_group DROP COLUMN carry_over_on_rerun, DROP COLUMN rerun_of_group_id, DROP COLUMN rerun_of_course_key',
    );
  }
}
