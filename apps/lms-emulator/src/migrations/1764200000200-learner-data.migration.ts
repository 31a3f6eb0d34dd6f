import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The learner data dynamic groups select on, with edx-platform's tables and columns: profiles
 * (country), preferences (`pref-lang`), persisted course grades.
 */
export class LearnerData1764200000200 implements MigrationInterface {
  name = 'LearnerData1764200000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth_userprofile (
      id INT NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, name VARCHAR(255) NOT NULL DEFAULT '', country VARCHAR(2) NULL,
      language VARCHAR(255) NOT NULL DEFAULT '', year_of_birth INT NULL,
      PRIMARY KEY (id), UNIQUE KEY user_id (user_id),
      CONSTRAINT fk_userprofile_user FOREIGN KEY (user_id) REFERENCES auth_user (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE user_api_userpreference (
      id INT NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, \`key\` VARCHAR(255) NOT NULL, value LONGTEXT NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY user_api_userpreference_user_id_key (user_id, \`key\`), KEY user_api_userpreference_key (\`key\`),
      CONSTRAINT fk_userpreference_user FOREIGN KEY (user_id) REFERENCES auth_user (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE grades_persistentcoursegrade (
      id BIGINT NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, course_id VARCHAR(255) NOT NULL, course_edited_timestamp DATETIME(6) NULL,
      course_version VARCHAR(255) NOT NULL DEFAULT '', grading_policy_hash VARCHAR(255) NOT NULL DEFAULT '', percent_grade DOUBLE NOT NULL,
      letter_grade VARCHAR(255) NOT NULL DEFAULT '', passed_timestamp DATETIME(6) NULL,
      created DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), modified DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (id), UNIQUE KEY grades_persistentcoursegrade_course_id_user_id (course_id, user_id), KEY ix_grade_user (user_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['grades_persistentcoursegrade', 'user_api_userpreference', 'auth_userprofile'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
