import { Inject, Injectable } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { fullTopicName, retryTopic } from '@groups-sync/contracts';
import { KAFKA, MESSAGING_OPTIONS, MessagingOptions } from '../messaging.options';
import { consumerLag } from './kafka-client';

/** Uncommitted messages per consumer group and topic, for operators (`ugsync status`). */
@Injectable()
export class ConsumerLag {
  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {}

  /** Every consumer group of the product, over the topics it reads and its retry topic. */
  async all(readers: Record<string, string[]>): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    // One admin connection for every group (not one each).
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const [group, topics] of Object.entries(readers)) {
        const names = [...topics, retryTopic(group)].map((t) => fullTopicName(t, this.options.topicPrefix));
        // Consumer group ids carry the topic prefix too (EventConsumer).
        out[group] = await consumerLag(this.kafka, fullTopicName(group, this.options.topicPrefix), names, admin);
      }
    } finally {
      await admin.disconnect();
    }
    return out;
  }
}
