import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What groups-service needs to follow the LMS's order: the LMS time of the latest LMS observation
 * a membership reflects (compared only with LMS times), and, while our write is in flight, the
 * group of the latest LMS observation that write superseded.
 */
export class LegacyOrdering1764000000100 implements MigrationInterface {
  name = 'LegacyOrdering1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE membership ADD COLUMN legacy_observed_at DATETIME(6) NULL, ADD COLUMN superseded_by_group_id CHAR(36) NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE membership DROP COLUMN superseded_by_group_id, DROP COLUMN legacy_observed_at');
  }
}
