import { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { aggregateValue, EventDataMap, EventType, toCeTime } from '@groups-sync/contracts';
import { outboxOrderKey } from './outbox-order-key';

/** Rows per INSERT statement. */
const INSERT_ROWS = 1000;

export interface OutboxContext {
  correlationId?: string | null;
  causationId?: string | null;
}

/**
 * Appends events to the outbox through the caller's entity manager, so they commit or roll back
 * with the change itself. Publishing is the relay's job, never the caller's.
 */
export class OutboxWriter {
  constructor(private readonly service: string) {}

  async append<T extends EventType>(manager: EntityManager, type: T, data: EventDataMap[T], context: OutboxContext = {}): Promise<string> {
    const [id] = await this.appendMany(manager, type, [data], context);
    return id;
  }

  /**
   * Many events of one type in one multi-row insert (bulk writes); ids keep their order. Plain SQL:
   * TypeORM's insert builder costs more CPU than the database does for a few hundred rows.
   */
  async appendMany<T extends EventType>(manager: EntityManager, type: T, events: Array<EventDataMap[T]>, context: OutboxContext = {}): Promise<string[]> {
    if (!events.length) return [];
    const occurredAt = toCeTime(new Date());
    const rows = events.map((data) => [
      randomUUID(), type, aggregateValue(type, data), outboxOrderKey(type, data), JSON.stringify(data), occurredAt, context.correlationId ?? null, context.causationId ?? null,
    ]);
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      await manager.query(
        'INSERT INTO outbox (event_id, event_type, aggregate_id, order_key, payload, occurred_at, correlation_id, causation_id) VALUES ?', [rows.slice(i, i + INSERT_ROWS)]);
    }
    return rows.map((r) => r[0] as string);
  }

  /**
   * Sets one numeric field of events appended earlier in the same transaction: a figure known only
   * once they are all written (an evaluation run's chunk count), so that the writer need not hold
   * them in memory until then. Nothing is published before the commit, so no reader sees the old value.
   */
  async setNumber(manager: EntityManager, eventIds: string[], path: string, value: number): Promise<void> {
    for (let i = 0; i < eventIds.length; i += INSERT_ROWS) {
      await manager.query('UPDATE outbox SET payload = JSON_SET(payload, ?, ?) WHERE event_id IN (?)', [`$.${path}`, value, eventIds.slice(i, i + INSERT_ROWS)]);
    }
  }
}
