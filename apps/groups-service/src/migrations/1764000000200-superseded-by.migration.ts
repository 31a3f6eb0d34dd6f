import { MigrationInterface, QueryRunner } from 'typeorm';

/** On a membership with our write in flight: the group of the latest LMS observation that write superseded. */
export class SupersededBy1764000000200 implements MigrationInterface {
  name = 'SupersededBy1764000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE membership ADD COLUMN superseded_by_group_id CHAR(36) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE membership DROP COLUMN superseded_by_group_id');
  }
}
