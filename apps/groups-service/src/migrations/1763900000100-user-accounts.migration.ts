import { MigrationInterface, QueryRunner } from 'typeorm';

/** The user directory's cache of LMS accounts. */
export class UserAccounts1763900000100 implements MigrationInterface {
  name = 'UserAccounts1763900000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE user_account (
      id BIGINT NOT NULL, username VARCHAR(150) NOT NULL, email VARCHAR(254) NULL, fetched_at DATETIME(6) NOT NULL,
      PRIMARY KEY (id), KEY ix_user_account_username (username), KEY ix_user_account_email (email)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE user_account');
  }
}
