import {
  BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Logger, Module, OnApplicationBootstrap,
} from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { ServiceConfig } from '@groups-sync/config';
import { DataSource } from 'typeorm';
import { allTopicSpecs, ConfluentSchemaRegistry, EVENT_TYPES, EventCodec, EventType, fullTopicName, retryTopic } from '@groups-sync/contracts';
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
  consumerMaxAttempts: number;
  consumerBackoffMaxMs: number;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
export const KAFKA = Symbol('KAFKA');

/** Creates the service's consumers and owns their lifecycle: started after boot, drained on shutdown. */
@Injectable()
export class EventConsumers {
  readonly all: EventConsumer[] = [];

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly codec: EventCodec,
    private readonly producer: MessageProducer,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {}

  register(options: Omit<EventConsumerOptions, 'topicPrefix' | 'maxAttempts' | 'backoffMaxMs'> & Partial<EventConsumerOptions>): EventConsumer {
    const consumer = new EventConsumer(this.kafka, this.codec, this.producer, {
      topicPrefix: this.options.topicPrefix,
      maxAttempts: this.options.consumerMaxAttempts,
      backoffMaxMs: this.options.consumerBackoffMaxMs,
      ...options,
    });
    this.all.push(consumer);
    return consumer;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.all.map((c) => c.start()));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((c) => c.stop().catch(() => undefined)));
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

/** What readiness checks need to know about messaging, without handing out the Kafka client. */
@Injectable()
export class MessagingHealth {
  constructor(@Inject(KAFKA) private readonly kafka: Kafka, private readonly consumers: EventConsumers) {}

  brokerReachable(): Promise<boolean> {
    return kafkaReachable(this.kafka);
  }

  consumerStates(): Array<{ joined: boolean; crashed?: string }> {
    return this.consumers.all.map((c) => c.status());
  }
}

@Injectable()
export class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Messaging');

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly consumers: EventConsumers,
    private readonly producer: MessageProducer,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay | null,
    private readonly codec: EventCodec,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await provisionTopics(this.kafka, allTopicSpecs(this.options.topicPrefix), this.options.topicReplication ?? SINGLE_BROKER);
    if (created.length) this.logger.log(`created topics: ${created.join(', ')}`);
    // Warm up what the first publish would otherwise pay for; neither is required to start.
    const published = (Object.keys(EVENT_TYPES) as EventType[]).filter((t) => EVENT_TYPES[t].source === this.options.service);
    await Promise.all([
      this.producer.warmUp().catch((e: Error) => this.logger.warn(`producer not connected yet: ${e.message}`)),
      this.codec.prepare(published).catch((e: Error) => this.logger.warn(`schemas not registered yet: ${e.message}`)),
    ]);
    // Consumers start with the event transport (startEventConsumers), once the app is up.
    this.relay?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
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
    consumerMaxAttempts: config.CONSUMER_MAX_ATTEMPTS,
    consumerBackoffMaxMs: config.CONSUMER_BACKOFF_MAX_MS,
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
              ? new OutboxRelay(dataSource, codec, producer, { service: options.service, pollIntervalMs: options.outboxPollIntervalMs ?? 50 })
              : null,
          inject: [DataSource, EventCodec, MessageProducer],
        },
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
