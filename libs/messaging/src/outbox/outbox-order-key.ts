import { createHash } from 'node:crypto';
import { EVENT_TYPES, isEventType, keyValue } from '@groups-sync/contracts';

/**
 * What must stay in order: rows with the same topic and Kafka key. Stored hashed (fixed width, indexed)
 * in `outbox.order_key`; a parked row holds back the later rows that share it. Throws for an event
 * that has no key, which can never be published.
 */
export function outboxOrderKey(eventType: string, data: unknown): string {
  if (!isEventType(eventType)) throw new Error(`unknown event type "${eventType}"`);
  return createHash('sha256')
    .update(`${EVENT_TYPES[eventType].topic}\n${keyValue(eventType, data)}`)
    .digest('hex')
    .slice(0, 40);
}
