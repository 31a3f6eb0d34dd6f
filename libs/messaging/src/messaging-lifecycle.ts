import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { EVENT_TYPES, EventCodec, EventType } from '@groups-sync/contracts';
import { EventConsumers } from './consumer/event-consumers';
import { MessageProducer } from './kafka/message-producer';
import { TopicProvisioning } from './kafka/topic-provisioning';
import { MESSAGING_OPTIONS, MessagingOptions } from './messaging.options';
import { OutboxRelay } from './outbox/outbox-relay';

/** Provisions topics and warms up at boot, starts the relay; drains consumers, relay and producer on shutdown. */
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
    const published = (Object.keys(EVENT_TYPES) as EventType[]).filter(
      (t) => EVENT_TYPES[t].source === this.options.service,
    );
    const warmUp = () =>
      this.producer.warmUp().catch((e: Error) => this.logger.warn(`producer not connected yet: ${e.message}`));
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
