import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Teams (lms/djangoapps/teams/models.py), course access roles (CourseAccessRole: who is course
 * staff), and the user an access token speaks for (django-oauth-toolkit's AccessToken.user), with
 * edx-platform's names. A course's teams configuration lives in its advanced settings (modulestore),
 * not in MySQL: the emulator keeps it in a table of its own.
 */
export class Teams1764300000200 implements MigrationInterface {
  name = 'Teams1764300000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE teams_courseteam (
      id INT NOT NULL AUTO_INCREMENT, team_id VARCHAR(255) NOT NULL, discussion_topic_id VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL,
      course_id VARCHAR(255) NOT NULL, topic_id VARCHAR(255) NOT NULL DEFAULT '', date_created DATETIME(6) NOT NULL, description VARCHAR(300) NOT NULL,
      country VARCHAR(2) NOT NULL DEFAULT '', language VARCHAR(16) NOT NULL DEFAULT '', last_activity_at DATETIME(6) NOT NULL,
      team_size INT NOT NULL DEFAULT 0, organization_protected TINYINT(1) NOT NULL DEFAULT 0,
      PRIMARY KEY (id), UNIQUE KEY team_id (team_id), UNIQUE KEY discussion_topic_id (discussion_topic_id), KEY teams_courseteam_name (name),
      KEY teams_courseteam_course_id (course_id), KEY teams_courseteam_topic_id (topic_id), KEY teams_courseteam_course_id_topic_id (course_id, topic_id),
      KEY teams_courseteam_last_activity_at (last_activity_at), KEY teams_courseteam_team_size (team_size)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE teams_courseteammembership (
      id INT NOT NULL AUTO_INCREMENT, date_joined DATETIME(6) NOT NULL, last_activity_at DATETIME(6) NOT NULL, team_id INT NOT NULL, user_id INT NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY teams_courseteammembership_user_id_team_id (user_id, team_id), KEY ix_team (team_id),
      CONSTRAINT fk_teammembership_team FOREIGN KEY (team_id) REFERENCES teams_courseteam (id),
      CONSTRAINT fk_teammembership_user FOREIGN KEY (user_id) REFERENCES auth_user (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE student_courseaccessrole (
      id INT NOT NULL AUTO_INCREMENT, org VARCHAR(64) NOT NULL, course_id VARCHAR(255) NOT NULL, role VARCHAR(64) NOT NULL, user_id INT NOT NULL,
      PRIMARY KEY (id), UNIQUE KEY student_courseaccessrole_user_id_org_course_id_role (user_id, org, course_id, role), KEY ix_course_role (course_id, role),
      CONSTRAINT fk_courseaccessrole_user FOREIGN KEY (user_id) REFERENCES auth_user (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(
      'ALTER TABLE oauth2_provider_accesstoken ADD COLUMN user_id INT NULL, ADD CONSTRAINT fk_accesstoken_user FOREIGN KEY (user_id) REFERENCES auth_user (id)',
    );
    await q.query(`CREATE TABLE emulator_course_teams_configuration (
      course_id VARCHAR(255) NOT NULL, teams_configuration LONGTEXT NOT NULL, PRIMARY KEY (course_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS emulator_course_teams_configuration');
    await q.query('ALTER TABLE oauth2_provider_accesstoken DROP FOREIGN KEY fk_accesstoken_user, DROP COLUMN user_id');
    for (const t of ['student_courseaccessrole', 'teams_courseteammembership', 'teams_courseteam'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
