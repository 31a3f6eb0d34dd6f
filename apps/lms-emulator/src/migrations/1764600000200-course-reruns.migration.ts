import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Studio's record of reruns, as edx-platform's CourseRerunState (common/djangoapps/course_action_state
 * models.py, migrations 0001/0002): one row per (new run, action), its source, and a state
 * (in_progress, succeeded, failed).
 */
export class CourseReruns1764600000200 implements MigrationInterface {
  name = 'CourseReruns1764600000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE course_action_state_coursererunstate (
      id INT NOT NULL AUTO_INCREMENT,
      created_time DATETIME(6) NOT NULL,
      updated_time DATETIME(6) NOT NULL,
      created_user_id INT NULL,
      updated_user_id INT NULL,
      course_key VARCHAR(255) NOT NULL,
      action VARCHAR(100) NOT NULL,
      state VARCHAR(50) NOT NULL,
      should_display TINYINT(1) NOT NULL DEFAULT 0,
      message VARCHAR(1000) NOT NULL DEFAULT '',
      source_course_key VARCHAR(255) NOT NULL,
      display_name VARCHAR(255) NOT NULL DEFAULT '',
      PRIMARY KEY (id),
      UNIQUE KEY course_key_action (course_key, action),
      KEY ix_action (action),
      KEY ix_source_course_key (source_course_key)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS course_action_state_coursererunstate');
  }
}
