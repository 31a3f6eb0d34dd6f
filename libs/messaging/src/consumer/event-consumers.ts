import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { deadLetterTopic, EventCodec, fullTopicName, isLmsTopic } from '@groups-sync/contracts';
import { TopicProvisioning } from '../kafka/topic-provisioning';
import { MessageProducer } from '../kafka/message-producer';
import { bootRetryDelayMs, KAFKA, MESSAGING_OPTIONS, MessagingOptions } from '../messaging.options';
import { DEFAULT_STREAM_LEASE_MS, StreamConsumer, StreamGap } from '../redis/stream-consumer';
import { streamGapsKey } from '../redis/stream-status';
import { ConsumerAttempts } from './consumer-attempts';
import { ConsumerStalls } from './consumer-stalls';
import { EventConsumer, EventConsumerOptions } from './event-consumer';

/**
 * Creates the service's consumers and owns their lifecycle: started after boot (at once when Kafka
 * answered at boot; else in the background once it answers), drained on shutdown.
 */
@Injectable()
export class EventConsumers {
  private readonly logger = new Logger('Messaging');
  readonly all: EventConsumer[] = [];
  /** Readers of the LMS's Redis streams, when the LMS publishes there. */
  readonly streams: StreamConsumer[] = [];
  private stopping = false;
  private gapListeners: Array<(gap: StreamGap) => Promise<void>> = [];

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly codec: EventCodec,
    private readonly producer: MessageProducer,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly topics: TopicProvisioning,
    // The service's database keeps stalls and attempts (ConsumerStall, ConsumerAttempt migrations), as it keeps the inbox.
    @Optional() private readonly dataSource?: DataSource,
  ) {}

  /**
   * A consumer group over its topics. The LMS's topics are read from Kafka, from Redis streams of
   * the same names, or both (LMS_EVENT_BUS); the group's retry topic, where operators replay dead
   * letters, and the services' own topics are always on Kafka.
   */
  register(
    options: Omit<EventConsumerOptions, 'topicPrefix' | 'maxAttempts' | 'backoffMaxMs'> & Partial<EventConsumerOptions>,
  ): EventConsumer {
    const bus = this.options.lmsEventBus ?? 'kafka';
    const fromRedis = bus === 'kafka' ? [] : options.topics.filter(isLmsTopic);
    const kafkaTopics = bus === 'redis' ? options.topics.filter((t) => !isLmsTopic(t)) : options.topics;
    const consumer = new EventConsumer(this.kafka, this.codec, this.producer, {
      topicPrefix: this.options.topicPrefix,
      maxAttempts: this.options.consumerMaxAttempts,
      backoffMaxMs: this.options.consumerBackoffMaxMs,
      outageBudgetMs: (this.options.consumerOutageBudgetSeconds ?? 3600) * 1000,
      sessionTimeoutMs: this.options.consumerSessionTimeoutMs,
      fetchMaxWaitMs: this.options.consumerFetchMaxWaitMs,
      heartbeatIntervalMs: this.options.consumerHeartbeatIntervalMs,
      stalls: this.dataSource ? new ConsumerStalls(this.dataSource) : undefined,
      attempts: this.dataSource ? new ConsumerAttempts(this.dataSource) : undefined,
      ...options,
      topics: kafkaTopics,
    });
    this.all.push(consumer);
    if (fromRedis.length) {
      if (!this.options.redisUrl) throw new Error(`LMS_EVENT_BUS=${bus} needs EVENT_BUS_REDIS_CONNECTION_URL`);
      const handler = options.batch ?? consumer.batchHandler;
      const prefix = this.options.topicPrefix;
      this.streams.push(
        new StreamConsumer(this.options.redisUrl, this.codec, this.producer, {
          group: options.group,
          groupName: fullTopicName(options.group, prefix),
          streams: fromRedis.map((t) => fullTopicName(t, prefix)),
          handler,
          instanceId: this.options.instanceId ?? String(process.pid),
          deadLetterTopic: fullTopicName(deadLetterTopic(options.group), prefix),
          maxAttempts: this.options.consumerMaxAttempts,
          backoffMaxMs: this.options.consumerBackoffMaxMs,
          outageBudgetMs: (this.options.consumerOutageBudgetSeconds ?? 3600) * 1000,
          leaseMs: this.options.streamLeaseMs ?? DEFAULT_STREAM_LEASE_MS,
          gapsKey: streamGapsKey(prefix),
          onGap: (gap) => this.streamGap(gap),
        }),
      );
    }
    return consumer;
  }

  /** Called when a Redis stream lost entries before a group read them: the service reconciles what they would have told it. */
  onStreamGap(listener: (gap: StreamGap) => Promise<void>): void {
    this.gapListeners.push(listener);
  }

  private async streamGap(gap: StreamGap): Promise<void> {
    for (const listener of this.gapListeners) {
      await listener(gap).catch((e: Error) =>
        this.logger.error(`handling the gap in ${gap.stream} failed: ${e.message}`),
      );
    }
  }

  /** Waits for the consumers only when Kafka answered at boot: a broker that is down holds no boot. */
  async startAll(): Promise<void> {
    // Redis streams do not wait for Kafka, except to dead-letter (which retries until it answers).
    for (const stream of this.streams) void this.keepStarting(stream);
    const started = this.topics.whenProvisioned().then(() => Promise.all(this.all.map((c) => this.keepStarting(c))));
    if (this.topics.provisioned) await started;
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.all, ...this.streams].map((c) => c.stop().catch(() => undefined)));
  }

  private async keepStarting(consumer: EventConsumer | StreamConsumer): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await consumer.start();
        return;
      } catch (error) {
        this.logger.warn(`consumer ${consumer.group} could not start, retrying: ${(error as Error).message}`);
        await sleep(bootRetryDelayMs(attempt));
      }
    }
  }
}
