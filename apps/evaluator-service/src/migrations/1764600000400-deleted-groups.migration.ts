import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deleted groups, by id with the version they were deleted at: a created or updated event delivered
 * after the deletion (a replayed dead letter, its inbox row pruned) does not bring the group back.
 * A row per deleted group, kept: groups-service never undeletes.
 */
export class DeletedGroups1764600000400 implements MigrationInterface {
  name = 'DeletedGroups1764600000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE deleted_group (
      group_id CHAR(36) NOT NULL,
      version INT NOT NULL,
      deleted_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (group_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS deleted_group');
  }
}
