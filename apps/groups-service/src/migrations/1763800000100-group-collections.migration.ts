import { MigrationInterface, QueryRunner } from 'typeorm';

/** Exclusivity collections and the refresh cadence a group gets from its criteria. */
export class GroupCollections1763800000100 implements MigrationInterface {
  name = 'GroupCollections1763800000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE user_group
      ADD COLUMN collection VARCHAR(255) NULL AFTER kind,
      ADD COLUMN default_refresh_seconds INT NULL AFTER refresh_cadence_seconds,
      ADD KEY ix_user_group_collection (scope_type, scope_key, collection)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE user_group DROP KEY ix_user_group_collection, DROP COLUMN default_refresh_seconds, DROP COLUMN collection',
    );
  }
}
