import { Inject, Injectable } from '@nestjs/common';
import { Admin, Kafka } from 'kafkajs';
import { fullTopicName, retryTopic } from '@groups-sync/contracts';
import { KAFKA, MESSAGING_OPTIONS, MessagingOptions } from '../messaging.options';
import { consumerLag } from './kafka-client';

/**
 * What one of the product's consumer groups has not committed, per topic: the topics it reads and
 * its retry topic, all under the deployment's topic prefix (which consumer group ids carry too).
 */
export async function groupLag(
  kafka: Kafka,
  group: string,
  topics: readonly string[],
  topicPrefix: string | null | undefined,
  connected?: Admin,
): Promise<Record<string, number>> {
  const names = [...topics, retryTopic(group)].map((t) => fullTopicName(t, topicPrefix));
  return consumerLag(kafka, fullTopicName(group, topicPrefix), names, connected);
}

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
      for (const [group, topics] of Object.entries(readers))
        out[group] = await groupLag(this.kafka, group, topics, this.options.topicPrefix, admin);
    } finally {
      await admin.disconnect();
    }
    return out;
  }
}
