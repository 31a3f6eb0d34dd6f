import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * edx-platform's CourseCohortsSettings, with its deprecated discussion columns. The emulator has no
 * modulestore: a course exists when it has this row. Courses an existing database already used (an
 * enrollment or a cohort) get one, cohorted as the fixtures' default, so they keep answering.
 */
export class CourseCohortSettings1764100000200 implements MigrationInterface {
  name = 'CourseCohortSettings1764100000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE course_groups_coursecohortssettings (
      id INT NOT NULL AUTO_INCREMENT, is_cohorted TINYINT(1) NOT NULL DEFAULT 0, course_id VARCHAR(255) NOT NULL,
      cohorted_discussions LONGTEXT NULL, always_cohort_inline_discussions TINYINT(1) NOT NULL DEFAULT 0,
      PRIMARY KEY (id), UNIQUE KEY course_id (course_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`INSERT IGNORE INTO course_groups_coursecohortssettings (course_id, is_cohorted)
      SELECT DISTINCT course_id, 1 FROM student_courseenrollment UNION SELECT DISTINCT course_id, 1 FROM course_groups_courseusergroup`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS course_groups_coursecohortssettings');
  }
}
