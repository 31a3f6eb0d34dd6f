import { MigrationInterface, QueryRunner } from 'typeorm';

/** The slice of edx-platform's schema the emulator needs, with edx-platform's table and column names. */
export class LmsTables1763700000200 implements MigrationInterface {
  name = 'LmsTables1763700000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth_user (
      id INT NOT NULL AUTO_INCREMENT, password VARCHAR(128) NOT NULL DEFAULT '', last_login DATETIME(6) NULL,
      is_superuser TINYINT(1) NOT NULL DEFAULT 0, username VARCHAR(150) NOT NULL, first_name VARCHAR(150) NOT NULL DEFAULT '',
      last_name VARCHAR(150) NOT NULL DEFAULT '', email VARCHAR(254) NOT NULL, is_staff TINYINT(1) NOT NULL DEFAULT 0,
      is_active TINYINT(1) NOT NULL DEFAULT 1, date_joined DATETIME(6) NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY username (username), KEY auth_user_email (email)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE student_courseenrollment (
      id INT NOT NULL AUTO_INCREMENT, course_id VARCHAR(255) NOT NULL, created DATETIME(6) NULL, is_active TINYINT(1) NOT NULL,
      mode VARCHAR(100) NOT NULL, user_id INT NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY student_courseenrollment_user_id_course_id (user_id, course_id), KEY ix_course (course_id),
      CONSTRAINT fk_enrollment_user FOREIGN KEY (user_id) REFERENCES auth_user (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE course_groups_courseusergroup (
      id INT NOT NULL AUTO_INCREMENT, name VARCHAR(255) NOT NULL, course_id VARCHAR(255) NOT NULL, group_type VARCHAR(20) NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY course_groups_courseusergroup_name_course_id (name, course_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE course_groups_coursecohort (
      id INT NOT NULL AUTO_INCREMENT, assignment_type VARCHAR(20) NOT NULL, course_user_group_id INT NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY course_user_group_id (course_user_group_id),
      CONSTRAINT fk_coursecohort_group FOREIGN KEY (course_user_group_id) REFERENCES course_groups_courseusergroup (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE course_groups_cohortmembership (
      id INT NOT NULL AUTO_INCREMENT, course_id VARCHAR(255) NOT NULL, course_user_group_id INT NOT NULL, user_id INT NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY course_groups_cohortmembership_user_id_course_id (user_id, course_id),
      KEY ix_cohort (course_user_group_id),
      CONSTRAINT fk_membership_cohort FOREIGN KEY (course_user_group_id) REFERENCES course_groups_courseusergroup (id),
      CONSTRAINT fk_membership_user FOREIGN KEY (user_id) REFERENCES auth_user (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE oauth2_provider_accesstoken (
      id INT NOT NULL AUTO_INCREMENT, token VARCHAR(255) NOT NULL, expires DATETIME(6) NOT NULL, client_id VARCHAR(100) NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY token (token)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'oauth2_provider_accesstoken',
      'course_groups_cohortmembership',
      'course_groups_coursecohort',
      'course_groups_courseusergroup',
      'student_courseenrollment',
      'auth_user',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
