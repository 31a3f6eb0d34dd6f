import { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { aggregateValue, EventDataMap, EventType, keyValue, toCeTime } from '@groups-sync/contracts';
import { packEvents } from './outbox-batch';
import { outboxOrderKey } from './outbox-order-key';

/** Rows per INSERT statement. */
const INSERT_ROWS = 1000;
/** Events per packed row (`appendPacked`): a few tens of kilobytes of payload. */
const PACKED_EVENTS = 1000;

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
    const rows = events.map((data) => {
      const payload = JSON.stringify(data);
      return [randomUUID(), type, aggregateValue(type, data), outboxOrderKey(type, data), payload, Buffer.byteLength(payload), occurredAt, context.correlationId ?? null, context.causationId ?? null];
    });
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      await manager.query(
        'INSERT INTO outbox (event_id, event_type, aggregate_id, order_key, payload, payload_bytes, occurred_at, correlation_id, causation_id) VALUES ?', [rows.slice(i, i + INSERT_ROWS)]);
    }
    return rows.map((r) => r[0] as string);
  }

  /**
   * Many events of one type for a bulk change, packed a thousand to a row (`outbox-batch.ts`): the
   * relay publishes each as its own message, in order, with an id derived from the row's. Only
   * consecutive events with the same aggregate and order key (topic and Kafka key) share a row, so
   * per-key order and parking work as for single rows.
   */
  async appendPacked<T extends EventType>(manager: EntityManager, type: T, events: Array<EventDataMap[T]>, context: OutboxContext = {}): Promise<void> {
    const occurredAt = toCeTime(new Date());
    const rows: unknown[][] = [];
    let run: Array<EventDataMap[T]> = [];
    let runKey = '';
    const close = () => {
      if (!run.length) return;
      const packed = run.length > 1 ? packEvents(run) : null;
      const payloads = packed ? [JSON.stringify(packed)] : run.map((data) => JSON.stringify(data));
      for (const payload of payloads) {
        rows.push([randomUUID(), type, aggregateValue(type, run[0]), outboxOrderKey(type, run[0]), payload, Buffer.byteLength(payload), packed ? run.length : 1, occurredAt, context.correlationId ?? null, context.causationId ?? null]);
      }
      run = [];
    };
    for (const data of events) {
      const key = `${aggregateValue(type, data)}\n${keyValue(type, data)}`;
      if (key !== runKey || run.length === PACKED_EVENTS) close();
      runKey = key;
      run.push(data);
    }
    close();
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      await manager.query(
        'INSERT INTO outbox (event_id, event_type, aggregate_id, order_key, payload, payload_bytes, event_count, occurred_at, correlation_id, causation_id) VALUES ?', [rows.slice(i, i + INSERT_ROWS)]);
    }
  }

  /**
   * Sets one numeric field of events appended earlier in the same transaction: a figure known only
   * once they are all written (an evaluation run's chunk count), so that the writer need not hold
   * them in memory until then. Nothing is published before the commit, so no reader sees the old value.
   */
  async setNumber(manager: EntityManager, eventIds: string[], path: string, value: number): Promise<void> {
    for (let i = 0; i < eventIds.length; i += INSERT_ROWS) {
      await manager.query('UPDATE outbox SET payload = JSON_SET(payload, ?, ?), payload_bytes = LENGTH(payload) WHERE event_id IN (?)', [`$.${path}`, value, eventIds.slice(i, i + INSERT_ROWS)]);
    }
  }
}
