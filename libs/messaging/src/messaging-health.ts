import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { ReadinessChecks } from '@groups-sync/observability';
import { EventConsumer } from './consumer/event-consumer';
import { EventConsumers } from './consumer/event-consumers';
import { BrokerProbe } from './kafka/broker-probe';
import { KAFKA, MESSAGING_OPTIONS, MessagingOptions } from './messaging.options';
import { OutboxRelay } from './outbox/outbox-relay';
import { StreamConsumer } from './redis/stream-consumer';

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
      this.checks?.add(
        'lms_streams',
        async () => {
          const streams = this.streamStates();
          return { up: streams.every((c) => Object.values(c.streams).every((r) => !r.error)), details: { streams } };
        },
        'consumers',
      );
    }
    this.checks?.add(
      'kafka',
      async () => {
        const consumers = this.consumerStates();
        const reachable = await this.brokerReachable();
        return { up: reachable && consumers.every((c) => c.joined), details: { reachable, consumers } };
      },
      'consumers',
    );
    const relay = this.relay;
    if (relay)
      this.checks?.add(
        'outbox',
        async () => ({
          up: !relay.status().lastError,
          details: { ...(await relay.backlogStats()), ...relay.status() },
        }),
        'consumers',
      );
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
