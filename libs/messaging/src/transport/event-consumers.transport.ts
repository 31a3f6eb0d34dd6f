import {
  applyDecorators,
  ArgumentsHost,
  Catch,
  INestApplication,
  RpcExceptionFilter,
  UseFilters,
} from '@nestjs/common';
import { CustomTransportStrategy, EventPattern, MessageHandler, Server } from '@nestjs/microservices';
import { lastValueFrom, Observable, throwError } from 'rxjs';
import { ConsumerGroup, DecodedEvent, EventType, Topic } from '@groups-sync/contracts';
import { HandlerContext } from '../consumer/event-consumer';
import type { EventConsumers } from '../consumer/event-consumers';

/** What a batch consumer takes: its consumer group, the topics it reads and the event types it handles. */
export interface ConsumerDeclaration {
  group: ConsumerGroup;
  topics: Topic[];
  types: EventType[];
  /** Cheap and synchronous: events it refuses are skipped before the handler and any database work. */
  filter?: (event: DecodedEvent) => boolean;
}

/**
 * Declares a Kafka consumer on a controller method, the NestJS way (`@EventPattern`): the method
 * receives the decoded events of a partition batch and the batch's HandlerContext. Throwing
 * PoisonMessageError (naming the event) sets that event aside; any other error retries the batch.
 */
export function ConsumeEvents(declaration: ConsumerDeclaration): MethodDecorator {
  return applyDecorators(
    EventPattern({ group: declaration.group }, { consumer: declaration }),
    UseFilters(new RethrowToConsumer()),
  );
}

/**
 * Hands handler errors back as they are (Nest's default RPC filter would turn them into plain
 * objects): the runner decides on retries and dead letters from their class.
 */
@Catch()
export class RethrowToConsumer implements RpcExceptionFilter {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * A NestJS custom transport over our consumer runner: each `@ConsumeEvents` handler becomes a
 * batch consumer (retries, pause/seek of the failing partition, dead letters, manual commits),
 * started by `app.startAllMicroservices()` and drained by `app.close()`. kafkajs stays behind
 * EventConsumers, inside this library.
 */
export class EventConsumersTransport extends Server implements CustomTransportStrategy {
  constructor(private readonly consumers: EventConsumers) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      for (const handler of this.getHandlers().values()) {
        const declaration = handler.extras?.consumer as ConsumerDeclaration | undefined;
        if (!declaration) continue;
        this.consumers.register({
          group: declaration.group,
          topics: declaration.topics,
          batch: {
            types: declaration.types,
            filter: declaration.filter,
            handle: (events, context) => this.dispatch(handler, events, context),
          },
        });
      }
      await this.consumers.startAll();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  private async dispatch(handler: MessageHandler, events: DecodedEvent[], context: HandlerContext): Promise<void> {
    await lastValueFrom(this.transformToObservable(await handler(events, context)), { defaultValue: undefined });
  }

  async close(): Promise<void> {
    await this.consumers.stopAll();
  }

  on(): never {
    throw new Error('EventConsumersTransport has no events to subscribe to');
  }

  unwrap<T>(): T {
    return this.consumers as T;
  }
}

/** Connects the service's `@ConsumeEvents` handlers and starts them (after the app's bootstrap). */
export async function startEventConsumers(app: INestApplication): Promise<void> {
  const transport = app.get(EventConsumersTransport);
  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
}
