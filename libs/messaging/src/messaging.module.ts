import { DynamicModule, Module } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { ServiceConfig } from '@groups-sync/config';
import { DataSource } from 'typeorm';
import { ConfluentSchemaRegistry, EventCodec } from '@groups-sync/contracts';
import { DeadLetterTopics } from './consumer/dead-letter-topics';
import { EventConsumers } from './consumer/event-consumers';
import { ConsumerLag } from './kafka/consumer-lag';
import { DeadLetterPages } from './kafka/dead-letter-pages';
import { createKafka } from './kafka/kafka-client';
import { MessageProducer } from './kafka/message-producer';
import { TopicProvisioning } from './kafka/topic-provisioning';
import { MessagingHealth } from './messaging-health';
import { MessagingLifecycle } from './messaging-lifecycle';
import { KAFKA, MESSAGING_OPTIONS, messagingOptions, MessagingOptions } from './messaging.options';
import { OutboxRelay } from './outbox/outbox-relay';
import { OutboxWakeUp } from './outbox/outbox-wake-up';
import { OutboxWriter } from './outbox/outbox.writer';
import { StreamStatus } from './redis/stream-status';
import { EventConsumersTransport } from './transport/event-consumers.transport';

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
        {
          provide: KAFKA,
          useFactory: () =>
            createKafka({ clientId: options.service, brokers: options.brokers, ...options.kafkaSecurity }),
        },
        {
          provide: EventCodec,
          useFactory: () =>
            new EventCodec(
              new ConfluentSchemaRegistry(options.schemaRegistryUrl, { auth: options.schemaRegistryAuth }),
              options.topicPrefix,
            ),
        },
        { provide: MessageProducer, useFactory: (kafka: Kafka) => new MessageProducer(kafka), inject: [KAFKA] },
        {
          // The writer wakes the relay when the transaction that wrote its rows commits: callers never notify it.
          provide: OutboxWriter,
          useFactory: (relay: OutboxRelay | null, dataSource?: DataSource) =>
            new OutboxWriter(
              options.service,
              relay && dataSource ? new OutboxWakeUp(() => relay.notify()).watch(dataSource) : undefined,
            ),
          inject: [OutboxRelay, { token: DataSource, optional: true }],
        },
        {
          provide: OutboxRelay,
          useFactory: (dataSource: DataSource, codec: EventCodec, producer: MessageProducer) =>
            options.outbox
              ? new OutboxRelay(dataSource, codec, producer, {
                  service: options.service,
                  pollIntervalMs: options.outboxPollIntervalMs ?? 50,
                  leaseSeconds: options.outboxLeaseSeconds,
                })
              : null,
          inject: [DataSource, EventCodec, MessageProducer],
        },
        TopicProvisioning,
        EventConsumers,
        {
          provide: DeadLetterTopics,
          useFactory: (kafka: Kafka, producer: MessageProducer, codec: EventCodec) =>
            new DeadLetterTopics(kafka, producer, codec, options.topicPrefix),
          inject: [KAFKA, MessageProducer, EventCodec],
        },
        {
          provide: DeadLetterPages,
          useFactory: (kafka: Kafka, topics: DeadLetterTopics) => new DeadLetterPages(kafka, topics),
          inject: [KAFKA, DeadLetterTopics],
        },
        {
          provide: EventConsumersTransport,
          useFactory: (consumers: EventConsumers) => new EventConsumersTransport(consumers),
          inject: [EventConsumers],
        },
        MessagingHealth,
        ConsumerLag,
        StreamStatus,
        MessagingLifecycle,
      ],
      exports: [
        MESSAGING_OPTIONS,
        KAFKA,
        EventCodec,
        MessageProducer,
        OutboxWriter,
        OutboxRelay,
        EventConsumers,
        EventConsumersTransport,
        MessagingHealth,
        DeadLetterTopics,
        DeadLetterPages,
        ConsumerLag,
        StreamStatus,
      ],
    };
  }
}
