import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `event_count`: how many events a row holds (more than one: a packed row, `outbox-batch.ts`);
 * `payload_bytes`: the payload's size as written, so that the relay can bound a send by bytes
 * without reading payloads (set here for the unsent rows written before).
 */
export class OutboxPackedRows1764700000000 implements MigrationInterface {
  name = 'OutboxPackedRows1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE outbox ADD COLUMN event_count INT NOT NULL DEFAULT 1 AFTER payload, ADD COLUMN payload_bytes INT NOT NULL DEFAULT 0 AFTER event_count',
    );
    // A backlog waiting at the upgrade is bounded by bytes too (sent rows are never read again).
    await q.query('UPDATE outbox SET payload_bytes = LENGTH(payload) WHERE sent_at IS NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox DROP COLUMN payload_bytes, DROP COLUMN event_count');
  }
}
