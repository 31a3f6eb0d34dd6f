import { MigrationInterface, QueryRunner } from 'typeorm';

/** A dynamic group's own refresh cadence and whether it is frozen: the scheduler honours both. */
export class GroupCadence1764300000200 implements MigrationInterface {
  name = 'GroupCadence1764300000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE dynamic_group ADD COLUMN frozen TINYINT(1) NOT NULL DEFAULT 0, ADD COLUMN cadence_override_seconds INT NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE dynamic_group DROP COLUMN frozen, DROP COLUMN cadence_override_seconds');
  }
}
