import {
  EventDataMap,
  EventMetadata,
  EventCodec,
  EventType,
  fullTopicName,
  EVENT_TYPES,
  streamEntryFields,
} from '@groups-sync/contracts';
import Redis from 'ioredis';
import { connectRedis } from './redis-connection';

/** event-bus-redis's EVENT_BUS_REDIS_STREAM_MAX_LEN default: each XADD trims the stream to about this many entries. */
export const DEFAULT_STREAM_MAX_LEN = 10_000;

/**
 * Publishes LMS events to Redis streams exactly as edx_event_bus_redis's producer does: stream
 * `<prefix>-<topic>`, one `XADD <stream> MAXLEN ~ <max> * field value…` per event. The LMS emulator
 * and the benchmarks use it; the services never publish to Redis.
 */
export class StreamProducer {
  private readonly redis: Redis;
  private connected?: Promise<void>;

  constructor(
    url: string,
    private readonly codec: EventCodec,
    private readonly prefix?: string | null,
    private readonly maxLen = DEFAULT_STREAM_MAX_LEN,
  ) {
    this.redis = connectRedis(url, 'lms-events-producer');
  }

  streamFor(eventType: EventType): string {
    return fullTopicName(EVENT_TYPES[eventType].topic, this.prefix);
  }

  /** Sends in order, one pipeline; resolves with the entry ids. */
  async send(
    events: Array<{ type: EventType; data: EventDataMap[EventType]; metadata: EventMetadata }>,
  ): Promise<string[]> {
    // One connect for sends that start together (a second connect() would reject).
    if (this.redis.status === 'wait') this.connected ??= this.redis.connect();
    await this.connected;
    const pipeline = this.redis.pipeline();
    for (const { type, data, metadata } of events) {
      pipeline.xadd(
        this.streamFor(type),
        'MAXLEN',
        '~',
        this.maxLen,
        '*',
        ...streamEntryFields(metadata, this.codec.encodeSchemaless(type, data)).flat(),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    return results.map(([, id]) => String(id));
  }

  async disconnect(): Promise<void> {
    if (this.redis.status !== 'end' && this.redis.status !== 'wait')
      await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
