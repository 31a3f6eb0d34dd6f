import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users retired through Open edX's retirement pipeline, by id only (ids stay, as Open edX keeps
 * them): their dead letters are shown masked and never replayed.
 */
export class RetiredUsers1764600000310 implements MigrationInterface {
  name = 'RetiredUsers1764600000310';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE retired_user (
      user_id BIGINT NOT NULL,
      retired_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (user_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS retired_user');
  }
}
