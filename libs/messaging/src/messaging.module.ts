import {
  BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit, Optional,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { ServiceConfig } from '@groups-sync/config';
import { ReadinessChecks } from '@groups-sync/observability';
import { DataSource } from 'typeorm';
import { allTopicSpecs, ConfluentSchemaRegistry, deadLetterTopic, EVENT_TYPES, EventCodec, EventType, fullTopicName, isLmsTopic, retryTopic } from '@groups-sync/contracts';
import { ConsumerAttempts } from './consumer/consumer-attempts';
import { ConsumerStalls } from './consumer/consumer-stalls';
import { DeadLetterTopics } from './consumer/dead-letter-topics';
import { DeadLetterPages } from './kafka/dead-letter-pages';
import { EventConsumer, EventConsumerOptions } from './consumer/event-consumer';
import { consumerLag, createKafka, kafkaReachable, KafkaSettings, provisionTopics, SINGLE_BROKER, TopicReplication } from './kafka/kafka-client';
import { BrokerProbe } from './kafka/broker-probe';
import { MessageProducer } from './kafka/message-producer';
import { OutboxRelay } from './outbox/outbox-relay';
import { OutboxWriter } from './outbox/outbox.writer';
import { EventConsumersTransport } from './transport/event-consumers.transport';
import { DEFAULT_STREAM_LEASE_MS, StreamConsumer, StreamGap } from './redis/stream-consumer';
import { connectRedis, infoReply } from './redis/redis-connection';

/** Where the LMS's events come from: event-bus-kafka, event-bus-redis (Tutor's default), or both while moving from one to the other. */
export type LmsEventBus = 'kafka' | 'redis' | 'both';

export interface MessagingOptions {
  /** Service name: Kafka client id, `ce_source`, relay lease name. */
  service: string;
  brokers: string[];
  /** SASL_SSL and its credentials (event-bus-kafka's settings); PLAINTEXT when unset. */
  kafkaSecurity?: Pick<KafkaSettings, 'securityProtocol' | 'apiKey' | 'apiSecret'>;
  /** Replication of the topics this service creates; one broker's when unset. */
  topicReplication?: TopicReplication;
  topicPrefix?: string | null;
  /** retention.ms of the dead-letter topics this service creates; 30 days when unset. */
  deadLetterRetentionMs?: number;
  schemaRegistryUrl: string;
  /** Basic auth with the registry (event-bus-kafka's EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY / _SECRET). */
  schemaRegistryAuth?: { key: string; secret: string };
  /** Services that own state publish through an outbox; the LMS emulator publishes directly. */
  outbox: boolean;
  outboxPollIntervalMs?: number;
  /** RELAY_LEASE_SECONDS: how long a relay that stopped renewing keeps the others from publishing. */
  outboxLeaseSeconds?: number;
  consumerMaxAttempts: number;
  consumerBackoffMaxMs: number;
  /** How long a message waits for an unavailable dependency before it is dead-lettered; one hour when unset. */
  consumerOutageBudgetSeconds?: number;
  /** KAFKA_SESSION_TIMEOUT_MS / KAFKA_HEARTBEAT_INTERVAL_MS of the consumer groups; 6 s and 1 s when unset. */
  consumerSessionTimeoutMs?: number;
  consumerHeartbeatIntervalMs?: number;
  /** The bus the LMS publishes on; the services' own topics are always on Kafka. Kafka when unset. */
  lmsEventBus?: LmsEventBus;
  /** EVENT_BUS_REDIS_CONNECTION_URL, when the LMS publishes to Redis streams. */
  redisUrl?: string;
  /** Names this process among the readers of a Redis consumer group. */
  instanceId?: string;
  /** How long a dead instance's streams wait before another instance takes them over. */
  streamLeaseMs?: number;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
export const KAFKA = Symbol('KAFKA');

/** Between attempts to reach a broker that was down at boot. */
const KAFKA_RETRY_MIN_MS = 1000;
const KAFKA_RETRY_MAX_MS = 30_000;

/**
 * The service's topics, created once Kafka answers: at boot when it is up, else in the background,
 * retrying, so that a service boots and serves its API while the broker is down (the outbox keeps
 * the changes); consumers start once the topics exist.
 */
@Injectable()
export class TopicProvisioning {
  private readonly logger = new Logger('Messaging');
  private stopped = false;
  private done?: Promise<void>;
  private provisionedNow = false;
  private triedOnce!: () => void;
  private readonly firstAttempt = new Promise<void>((resolve) => (this.triedOnce = resolve));

  constructor(@Inject(KAFKA) private readonly kafka: Kafka, @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions) {}

  get provisioned(): boolean {
    return this.provisionedNow;
  }

  /** Starts provisioning; resolves after the first attempt, whether it succeeded (`provisioned`) or goes on in the background. */
  start(): Promise<void> {
    void this.whenProvisioned();
    return this.firstAttempt;
  }

  /** Resolves once the topics exist; never rejects (it keeps trying until stop()). */
  whenProvisioned(): Promise<void> {
    this.done ??= this.provisionUntilDone();
    return this.done;
  }

  stop(): void {
    this.stopped = true;
  }

  private async provisionUntilDone(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        // A quick probe first: kafkajs's own retries would hold the boot for half a minute.
        if (await kafkaReachable(this.kafka)) {
          const created = await provisionTopics(this.kafka, allTopicSpecs(this.options.topicPrefix, undefined, this.options.deadLetterRetentionMs), this.options.topicReplication ?? SINGLE_BROKER);
          if (created.length) this.logger.log(`created topics: ${created.join(', ')}`);
          this.provisionedNow = true;
          return;
        }
        if (attempt === 0) this.logger.warn('Kafka is not reachable: the API serves meanwhile (changes wait in the outbox); consumers start once it answers');
      } catch (error) {
        this.logger.warn(`provisioning topics failed, retrying: ${(error as Error).message}`);
      } finally {
        this.triedOnce();
      }
      await sleep(Math.min(KAFKA_RETRY_MAX_MS, KAFKA_RETRY_MIN_MS * 2 ** Math.min(attempt, 10)));
    }
    await new Promise<never>(() => undefined); // stopped: never provisioned
  }
}

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
  register(options: Omit<EventConsumerOptions, 'topicPrefix' | 'maxAttempts' | 'backoffMaxMs'> & Partial<EventConsumerOptions>): EventConsumer {
    const bus = this.options.lmsEventBus ?? 'kafka';
    const fromRedis = bus === 'kafka' ? [] : options.topics.filter(isLmsTopic);
    const kafkaTopics = bus === 'redis' ? options.topics.filter((t) => !isLmsTopic(t)) : options.topics;
    const consumer = new EventConsumer(this.kafka, this.codec, this.producer, {
      topicPrefix: this.options.topicPrefix,
      maxAttempts: this.options.consumerMaxAttempts,
      backoffMaxMs: this.options.consumerBackoffMaxMs,
      outageBudgetMs: (this.options.consumerOutageBudgetSeconds ?? 3600) * 1000,
      sessionTimeoutMs: this.options.consumerSessionTimeoutMs,
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
      this.streams.push(new StreamConsumer(this.options.redisUrl, this.codec, this.producer, {
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
      }));
    }
    return consumer;
  }

  /** Called when a Redis stream lost entries before a group read them: the service reconciles what they would have told it. */
  onStreamGap(listener: (gap: StreamGap) => Promise<void>): void {
    this.gapListeners.push(listener);
  }

  private async streamGap(gap: StreamGap): Promise<void> {
    for (const listener of this.gapListeners) {
      await listener(gap).catch((e: Error) => this.logger.error(`handling the gap in ${gap.stream} failed: ${e.message}`));
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
        await sleep(Math.min(KAFKA_RETRY_MAX_MS, KAFKA_RETRY_MIN_MS * 2 ** Math.min(attempt, 10)));
      }
    }
  }
}

/** The Redis hash where stream readers record the last gap of each group and stream, for `ugsync status`. */
export function streamGapsKey(prefix?: string | null): string {
  return fullTopicName('groups-sync:stream-gaps', prefix);
}

/** The LMS's Redis streams as operators see them: each group's backlog and the last gap found. */
@Injectable()
export class StreamStatus {
  constructor(@Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions) {}

  get enabled(): boolean {
    return (this.options.lmsEventBus ?? 'kafka') !== 'kafka' && !!this.options.redisUrl;
  }

  /** Per group and stream: entries not yet delivered (`lag`), delivered but unacknowledged (`pending`); and the gaps recorded. */
  async read(readers: Record<string, string[]>): Promise<{ lag: Record<string, Record<string, number | null>>; gaps: StreamGap[] }> {
    if (!this.enabled) return { lag: {}, gaps: [] };
    const redis = connectRedis(this.options.redisUrl!, 'status');
    try {
      await redis.connect();
      const prefix = this.options.topicPrefix;
      const lag: Record<string, Record<string, number | null>> = {};
      for (const [group, topics] of Object.entries(readers)) {
        for (const topic of topics.filter((t) => isLmsTopic(t as never))) {
          const stream = fullTopicName(topic, prefix);
          const groups = await redis.xinfo('GROUPS', stream).catch(() => [] as unknown[]);
          const info = (groups as unknown[]).map(infoReply).find((g) => g.name === fullTopicName(group, prefix));
          if (!info) continue;
          (lag[group] ??= {})[stream] = info.lag === null || info.lag === undefined ? null : Number(info.lag) + Number(info.pending ?? 0);
        }
      }
      const recorded = await redis.hvals(streamGapsKey(prefix));
      return { lag, gaps: recorded.map((g) => JSON.parse(g) as StreamGap).sort((a, b) => b.at.localeCompare(a.at)) };
    } finally {
      redis.disconnect();
    }
  }
}

/** Uncommitted messages per consumer group and topic, for operators (`ugsync status`). */
@Injectable()
export class ConsumerLag {
  constructor(@Inject(KAFKA) private readonly kafka: Kafka, @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions) {}

  /** Every consumer group of the product, over the topics it reads and its retry topic. */
  async all(readers: Record<string, string[]>): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [group, topics] of Object.entries(readers)) {
      const names = [...topics, retryTopic(group)].map((t) => fullTopicName(t, this.options.topicPrefix));
      // Consumer group ids carry the topic prefix too (EventConsumer).
      out[group] = await consumerLag(this.kafka, fullTopicName(group, this.options.topicPrefix), names);
    }
    return out;
  }
}

/**
 * The service's Kafka side, on `/health/consumers` (not `/health/ready`: the API serves while Kafka
 * is down): the broker answers and every consumer has joined its group (`kafka`), the outbox relay
 * has no error (`outbox`).
 */
@Injectable()
export class MessagingHealth implements OnModuleInit, OnApplicationShutdown {
  private readonly broker: BrokerProbe;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    private readonly consumers: EventConsumers,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay | null,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    @Optional() private readonly checks?: ReadinessChecks,
  ) {
    this.broker = new BrokerProbe(kafka);
  }

  onModuleInit(): void {
    // The LMS's Redis streams, when the LMS publishes there: each reader's last error (one instance reads a stream at a time).
    if ((this.options.lmsEventBus ?? 'kafka') !== 'kafka') {
      this.checks?.add('lms_streams', async () => {
        const streams = this.streamStates();
        return { up: streams.every((c) => Object.values(c.streams).every((r) => !r.error)), details: { streams } };
      }, 'consumers');
    }
    this.checks?.add('kafka', async () => {
      const consumers = this.consumerStates();
      const reachable = await this.brokerReachable();
      return { up: reachable && consumers.every((c) => c.joined), details: { reachable, consumers } };
    }, 'consumers');
    const relay = this.relay;
    if (relay) this.checks?.add('outbox', async () => ({ up: !relay.status().lastError, details: { ...(await relay.backlogStats()), ...relay.status() } }), 'consumers');
  }

  brokerReachable(): Promise<boolean> {
    return this.broker.reachable();
  }

  onApplicationShutdown(): Promise<void> {
    return this.broker.close();
  }

  consumerStates(): Array<ReturnType<EventConsumer['status']>> {
    return this.consumers.all.map((c) => c.status());
  }

  streamStates(): Array<ReturnType<StreamConsumer['status']>> {
    return this.consumers.streams.map((c) => c.status());
  }
}

@Injectable()
export class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Messaging');

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly consumers: EventConsumers,
    private readonly producer: MessageProducer,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay | null,
    private readonly codec: EventCodec,
    private readonly topics: TopicProvisioning,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // One attempt at boot (quick when Kafka is down); then in the background until it answers.
    await this.topics.start();
    // Warm up what the first publish would otherwise pay for; neither is required to start.
    const published = (Object.keys(EVENT_TYPES) as EventType[]).filter((t) => EVENT_TYPES[t].source === this.options.service);
    const warmUp = () => this.producer.warmUp().catch((e: Error) => this.logger.warn(`producer not connected yet: ${e.message}`));
    await Promise.all([
      this.topics.provisioned ? warmUp() : undefined,
      this.codec.prepare(published).catch((e: Error) => this.logger.warn(`schemas not registered yet: ${e.message}`)),
    ]);
    // Consumers start with the event transport (startEventConsumers), once the app is up; the relay
    // now: while Kafka is down it keeps retrying, and the outbox keeps the changes.
    this.relay?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.topics.stop();
    await this.consumers.stopAll();
    await this.relay?.stop();
    await this.producer.disconnect();
  }
}

/** The usual options from a service's validated config. */
export function messagingOptions(service: string, config: ServiceConfig, options: { outbox: boolean }): MessagingOptions {
  return {
    service,
    brokers: config.KAFKA_BROKERS.split(','),
    kafkaSecurity: {
      securityProtocol: config.KAFKA_SECURITY_PROTOCOL as KafkaSettings['securityProtocol'],
      apiKey: config.EVENT_BUS_KAFKA_API_KEY,
      apiSecret: config.EVENT_BUS_KAFKA_API_SECRET,
    },
    topicReplication: { replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR, minInsyncReplicas: config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS },
    topicPrefix: config.EVENT_BUS_TOPIC_PREFIX,
    deadLetterRetentionMs: config.DEAD_LETTER_RETENTION_DAYS * 86_400_000,
    schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
    schemaRegistryAuth: config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY && config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET
      ? { key: config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY, secret: config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET }
      : undefined,
    outbox: options.outbox,
    outboxPollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    outboxLeaseSeconds: config.RELAY_LEASE_SECONDS,
    consumerMaxAttempts: config.CONSUMER_MAX_ATTEMPTS,
    consumerBackoffMaxMs: config.CONSUMER_BACKOFF_MAX_MS,
    consumerOutageBudgetSeconds: config.CONSUMER_OUTAGE_BUDGET_SECONDS,
    consumerSessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    consumerHeartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    lmsEventBus: config.LMS_EVENT_BUS as LmsEventBus,
    redisUrl: config.EVENT_BUS_REDIS_CONNECTION_URL,
    instanceId: config.INSTANCE_ID,
  };
}

@Module({})
export class MessagingModule {
  /** The usual wiring from a service's validated config. */
  static forService(service: string, config: ServiceConfig, options: { outbox: boolean }): DynamicModule {
    return MessagingModule.forRoot(messagingOptions(service, config, options));
  }

  static forRoot(options: MessagingOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        { provide: KAFKA, useFactory: () => createKafka({ clientId: options.service, brokers: options.brokers, ...options.kafkaSecurity }) },
        {
          provide: EventCodec,
          useFactory: () => new EventCodec(new ConfluentSchemaRegistry(options.schemaRegistryUrl, { auth: options.schemaRegistryAuth }), options.topicPrefix),
        },
        { provide: MessageProducer, useFactory: (kafka: Kafka) => new MessageProducer(kafka), inject: [KAFKA] },
        { provide: OutboxWriter, useFactory: () => new OutboxWriter(options.service) },
        {
          provide: OutboxRelay,
          useFactory: (dataSource: DataSource, codec: EventCodec, producer: MessageProducer) =>
            options.outbox
              ? new OutboxRelay(dataSource, codec, producer, {
                service: options.service, pollIntervalMs: options.outboxPollIntervalMs ?? 50, leaseSeconds: options.outboxLeaseSeconds,
              })
              : null,
          inject: [DataSource, EventCodec, MessageProducer],
        },
        TopicProvisioning,
        EventConsumers,
        {
          provide: DeadLetterTopics,
          useFactory: (kafka: Kafka, producer: MessageProducer, codec: EventCodec) => new DeadLetterTopics(kafka, producer, codec, options.topicPrefix),
          inject: [KAFKA, MessageProducer, EventCodec],
        },
        { provide: DeadLetterPages, useFactory: (kafka: Kafka, topics: DeadLetterTopics) => new DeadLetterPages(kafka, topics), inject: [KAFKA, DeadLetterTopics] },
        { provide: EventConsumersTransport, useFactory: (consumers: EventConsumers) => new EventConsumersTransport(consumers), inject: [EventConsumers] },
        MessagingHealth,
        ConsumerLag,
        StreamStatus,
        MessagingLifecycle,
      ],
      exports: [MESSAGING_OPTIONS, KAFKA, EventCodec, MessageProducer, OutboxWriter, OutboxRelay, EventConsumers, EventConsumersTransport, MessagingHealth, DeadLetterTopics, DeadLetterPages, ConsumerLag, StreamStatus],
    };
  }
}
