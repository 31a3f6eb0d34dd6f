import { MigrationInterface, QueryRunner } from 'typeorm';

/** The LMS's time of the last LMS observation a membership reflects: later change wins on the LMS's clock alone. */
export class LegacyObservedAt1764000000100 implements MigrationInterface {
  name = 'LegacyObservedAt1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE membership ADD COLUMN legacy_observed_at DATETIME(6) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE membership DROP COLUMN legacy_observed_at');
  }
}
