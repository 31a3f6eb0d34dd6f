import { DecodedEvent, EventType } from '@groups-sync/contracts';
import { PoisonMessageError } from './consumer.errors';

export interface HandlerContext {
  topic: string;
  /** The batch comes from the group's retry topic: an operator replayed dead letters. */
  replayed?: boolean;
  partition: number;
  /** Offset of the first message handed over. */
  offset: string;
  /** Deliveries of this batch (or message) so far, this one included. */
  attempt: number;
  heartbeat(): Promise<void>;
}

export type EventHandler<T extends EventType = EventType> = (
  event: DecodedEvent<T>,
  context: HandlerContext,
) => Promise<void>;
export type EventHandlers = { [T in EventType]?: EventHandler<T> };

/**
 * Takes the decoded events of one partition batch, in order. Throw PoisonMessageError naming the
 * event to set it aside (the rest are handed over again); any other error retries the batch.
 */
export interface BatchHandler {
  types: EventType[];
  /** Cheap, synchronous: events it refuses are skipped before the handler (and any database work). */
  filter?: (event: DecodedEvent) => boolean;
  handle(events: DecodedEvent[], context: HandlerContext): Promise<void>;
}

/** Per-message handlers as one batch handler: each event in order, a poison one named. */
export function perMessage(handlers: EventHandlers): BatchHandler {
  return {
    types: Object.keys(handlers) as EventType[],
    async handle(events, context) {
      for (const event of events) {
        try {
          await (handlers[event.type] as EventHandler)(event, context);
        } catch (error) {
          if (error instanceof PoisonMessageError && !error.event)
            throw new PoisonMessageError(error.reason, error.message, event);
          throw error;
        }
      }
    },
  };
}
