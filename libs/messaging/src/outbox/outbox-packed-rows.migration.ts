import { MigrationInterface, QueryRunner } from 'typeorm';

/** `event_count`: how many events a row holds (more than one: a packed row, `outbox-batch.ts`). */
export class OutboxPackedRows1764700000000 implements MigrationInterface {
  name = 'OutboxPackedRows1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox ADD COLUMN event_count INT NOT NULL DEFAULT 1 AFTER payload');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox DROP COLUMN event_count');
  }
}
