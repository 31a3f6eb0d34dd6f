import { Consumer, Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { headerText } from './header-text';

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning into memory, under a throwaway consumer group. For operators'
 * tools (listing dead letters) and for tests; never part of a service's processing.
 */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  private readonly consumer: Consumer;

  /** `onMessage` sees each message as it arrives (benchmarks time deliveries with it). */
  constructor(kafka: Kafka, private readonly topics: string[], private readonly onMessage?: (message: ReadMessage) => void) {
    this.consumer = kafka.consumer({ groupId: `topic-reader-${randomUUID()}`, allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const read = { topic, partition, offset: message.offset, key: message.key, value: message.value, headers: headerText(message.headers).text };
        this.messages.push(read);
        this.onMessage?.(read);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
