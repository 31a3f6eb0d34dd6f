import { EntityManager } from 'typeorm';
import { aggregateValue, EventDataMap, EventType, newEventMetadata, toCeTime } from '@groups-sync/contracts';
import { OutboxMessage } from './outbox-message.entity';

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

  /** Many events of one type in one multi-row insert (bulk writes); ids keep their order. */
  async appendMany<T extends EventType>(manager: EntityManager, type: T, events: Array<EventDataMap[T]>, context: OutboxContext = {}): Promise<string[]> {
    if (!events.length) return [];
    const rows = events.map((data) => {
      const metadata = newEventMetadata(type, this.service);
      return {
        eventId: metadata.id,
        eventType: type,
        aggregateId: aggregateValue(type, data),
        payload: data as unknown as object,
        occurredAt: metadata.time || toCeTime(new Date()),
        correlationId: context.correlationId ?? null,
        causationId: context.causationId ?? null,
        sentAt: null,
        failedAt: null,
        lastError: null,
      };
    });
    await manager.insert(OutboxMessage, rows);
    return rows.map((r) => r.eventId);
  }
}
