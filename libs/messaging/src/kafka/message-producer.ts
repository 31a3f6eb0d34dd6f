import { CompressionTypes, Kafka, Partitioners, Producer } from 'kafkajs';
import { EncodedMessage } from '@groups-sync/contracts';

export interface RawMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string | Buffer>;
}

/**
 * An idempotent producer (acks=all, one request in flight) so retries neither duplicate nor
 * reorder messages of a partition.
 */
export class MessageProducer {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(kafka: Kafka) {
    // The Java client's murmur2 partitioner, so keys land where any Kafka tool expects them.
    this.producer = kafka.producer({
      idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.producer.on('producer.disconnect', () => (this.connected = undefined));
  }

  /** Connects ahead of the first send (the idempotent producer's InitProducerId is slow the first time). */
  async warmUp(): Promise<void> {
    await this.connect();
  }

  private connect(): Promise<void> {
    if (!this.connected) {
      this.connected = this.producer.connect();
      this.connected.catch(() => (this.connected = undefined));
    }
    return this.connected;
  }

  /** Sends in the given order; resolves only when every message is acknowledged by all in-sync replicas. */
  async send(messages: Array<EncodedMessage | RawMessage>): Promise<void> {
    if (!messages.length) return;
    await this.connect();
    // Keep order: consecutive messages for one topic go in one batch entry.
    const topicMessages: Array<{ topic: string; messages: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string | Buffer> }> }> = [];
    for (const m of messages) {
      const last = topicMessages[topicMessages.length - 1];
      const entry = { key: m.key, value: m.value, headers: m.headers };
      if (last && last.topic === m.topic) last.messages.push(entry);
      else topicMessages.push({ topic: m.topic, messages: [entry] });
    }
    await this.producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    this.connected = undefined;
  }
}
