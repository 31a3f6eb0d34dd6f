import { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { aggregateValue, EventDataMap, EventType, keyValue, toCeTime } from '@groups-sync/contracts';
import { packEvents } from './outbox-batch';
import { outboxOrderKey } from './outbox-order-key';
import { OutboxWakeUp } from './outbox-wake-up';

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
 * with the change itself. Publishing is the relay's job, never the caller's: the writer wakes it
 * once the rows are committed (`OutboxWakeUp`), so callers never notify it themselves.
 */
export class OutboxWriter {
  constructor(
    private readonly service: string,
    private readonly wakeUp?: Pick<OutboxWakeUp, 'written'>,
  ) {}

  async append<T extends EventType>(
    manager: EntityManager,
    type: T,
    data: EventDataMap[T],
    context: OutboxContext = {},
  ): Promise<string> {
    const [id] = await this.appendMany(manager, type, [data], context);
    return id;
  }

  /**
   * Many events of one type in one multi-row insert (bulk writes); ids keep their order. Plain SQL:
   * TypeORM's insert builder costs more CPU than the database does for a few hundred rows.
   */
  async appendMany<T extends EventType>(
    manager: EntityManager,
    type: T,
    events: Array<EventDataMap[T]>,
    context: OutboxContext = {},
  ): Promise<string[]> {
    return this.insert(
      manager,
      type,
      events.map((data) => ({ first: data, payload: JSON.stringify(data), count: 1 })),
      context,
    );
  }

  /**
   * Many events of one type for a bulk change, packed a thousand to a row (`outbox-batch.ts`): the
   * relay publishes each as its own message, in order, with an id derived from the row's. Only
   * consecutive events with the same aggregate and order key (topic and Kafka key) share a row, so
   * per-key order and parking work as for single rows.
   */
  async appendPacked<T extends EventType>(
    manager: EntityManager,
    type: T,
    events: Array<EventDataMap[T]>,
    context: OutboxContext = {},
  ): Promise<void> {
    const rows: Array<{ first: EventDataMap[T]; payload: string; count: number }> = [];
    let run: Array<EventDataMap[T]> = [];
    let runKey = '';
    const close = () => {
      const packed = run.length > 1 ? packEvents(run) : null;
      if (packed) rows.push({ first: run[0], payload: JSON.stringify(packed), count: run.length });
      else rows.push(...run.map((data) => ({ first: data, payload: JSON.stringify(data), count: 1 })));
      run = [];
    };
    for (const data of events) {
      const key = `${aggregateValue(type, data)}\n${keyValue(type, data)}`;
      if (run.length && (key !== runKey || run.length === PACKED_EVENTS)) close();
      runKey = key;
      run.push(data);
    }
    if (run.length) close();
    await this.insert(manager, type, rows, context);
  }

  /** Outbox rows, each with its event id, aggregate, order key and sizes; `first` is the (first) event it holds. */
  private async insert<T extends EventType>(
    manager: EntityManager,
    type: T,
    rows: Array<{ first: EventDataMap[T]; payload: string; count: number }>,
    context: OutboxContext,
  ): Promise<string[]> {
    const occurredAt = toCeTime(new Date());
    const values = rows.map((r) => [
      randomUUID(),
      type,
      aggregateValue(type, r.first),
      outboxOrderKey(type, r.first),
      r.payload,
      r.count,
      Buffer.byteLength(r.payload),
      occurredAt,
      context.correlationId ?? null,
      context.causationId ?? null,
    ]);
    for (let i = 0; i < values.length; i += INSERT_ROWS) {
      await manager.query(
        'INSERT INTO outbox (event_id, event_type, aggregate_id, order_key, payload, event_count, payload_bytes, occurred_at, correlation_id, causation_id) VALUES ?',
        [values.slice(i, i + INSERT_ROWS)],
      );
    }
    if (values.length) this.wakeUp?.written(manager);
    return values.map((v) => v[0] as string);
  }
}
