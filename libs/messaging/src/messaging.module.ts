import {
  BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleInit, Optional,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { ServiceConfig } from '@groups-sync/config';
import { ReadinessChecks } from '@groups-sync/observability';
import { DataSource } from 'typeorm';
import { allTopicSpecs, ConfluentSchemaRegistry, EVENT_TYPES, EventCodec, EventType, fullTopicName, retryTopic } from '@groups-sync/contracts';
import { ConsumerStalls } from './consumer/consumer-stalls';
import { DeadLetterTopics } from './consumer/dead-letter-topics';
import { EventConsumer, EventConsumerOptions } from './consumer/event-consumer';
import { consumerLag, createKafka, kafkaReachable, KafkaSettings, provisionTopics, SINGLE_BROKER, TopicReplication } from './kafka/kafka-client';
import { MessageProducer } from './kafka/message-producer';
import { OutboxRelay } from './outbox/outbox-relay';
import { OutboxWriter } from './outbox/outbox.writer';
import { EventConsumersTransport } from './transport/event-consumers.transport';

export interface MessagingOptions {
  /** Service name: Kafka client id, `ce_source`, relay lease name. */
  service: string;
  brokers: string[];
  /** SASL_SSL and its credentials (event-bus-kafka's settings); PLAINTEXT when unset. */
  kafkaSecurity?: Pick<KafkaSettings, 'securityProtocol' | 'apiKey' | 'apiSecret'>;
  /** Replication of the topics this service creates; one broker's when unset. */
  topicReplication?: TopicReplication;
  topicPrefix?: string | null;
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
          const created = await provisionTopics(this.kafka, allTopicSpecs(this.options.topicPrefix), this.options.topicReplication ?? SINGLE_BROKER);
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
  private stopping = false;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly codec: EventCodec,
    private readonly producer: MessageProducer,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly topics: TopicProvisioning,
    // The service's database keeps stalls (ConsumerStall migration), as it keeps the inbox.
    @Optional() private readonly dataSource?: DataSource,
  ) {}

  register(options: Omit<EventConsumerOptions, 'topicPrefix' | 'maxAttempts' | 'backoffMaxMs'> & Partial<EventConsumerOptions>): EventConsumer {
    const consumer = new EventConsumer(this.kafka, this.codec, this.producer, {
      topicPrefix: this.options.topicPrefix,
      maxAttempts: this.options.consumerMaxAttempts,
      backoffMaxMs: this.options.consumerBackoffMaxMs,
      outageBudgetMs: (this.options.consumerOutageBudgetSeconds ?? 3600) * 1000,
      stalls: this.dataSource ? new ConsumerStalls(this.dataSource) : undefined,
      ...options,
    });
    this.all.push(consumer);
    return consumer;
  }

  /** Waits for the consumers only when Kafka answered at boot: a broker that is down holds no boot. */
  async startAll(): Promise<void> {
    const started = this.topics.whenProvisioned().then(() => Promise.all(this.all.map((c) => this.keepStarting(c))));
    if (this.topics.provisioned) await started;
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.all.map((c) => c.stop().catch(() => undefined)));
  }

  private async keepStarting(consumer: EventConsumer): Promise<void> {
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
export class MessagingHealth implements OnModuleInit {
  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly consumers: EventConsumers,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay | null,
    @Optional() private readonly checks?: ReadinessChecks,
  ) {}

  onModuleInit(): void {
    this.checks?.add('kafka', async () => {
      const consumers = this.consumerStates();
      const reachable = await this.brokerReachable();
      return { up: reachable && consumers.every((c) => c.joined), details: { reachable, consumers } };
    }, 'consumers');
    const relay = this.relay;
    if (relay) this.checks?.add('outbox', async () => ({ up: !relay.status().lastError, details: { ...(await relay.backlogStats()), ...relay.status() } }), 'consumers');
  }

  brokerReachable(): Promise<boolean> {
    return kafkaReachable(this.kafka);
  }

  consumerStates(): Array<ReturnType<EventConsumer['status']>> {
    return this.consumers.all.map((c) => c.status());
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
        { provide: EventConsumersTransport, useFactory: (consumers: EventConsumers) => new EventConsumersTransport(consumers), inject: [EventConsumers] },
        MessagingHealth,
        ConsumerLag,
        MessagingLifecycle,
      ],
      exports: [MESSAGING_OPTIONS, KAFKA, EventCodec, MessageProducer, OutboxWriter, OutboxRelay, EventConsumers, EventConsumersTransport, MessagingHealth, DeadLetterTopics, ConsumerLag],
    };
  }
}
