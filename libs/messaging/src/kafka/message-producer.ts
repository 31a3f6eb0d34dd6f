import { CompressionTypes, Kafka, Partitioners, Producer } from 'kafkajs';
import { EncodedMessage } from '@groups-sync/contracts';

/** Bytes per produce request: well under the broker's default `message.max.bytes` (1,048,588). */
export const SEND_MAX_BYTES = 768 * 1024;
/** Messages per produce request: kafkajs encodes a request in one go (10,000 small ones held the event loop ~160 ms, 1,000 up to ~60 ms). */
export const SEND_MAX_MESSAGES = 250;

function messageBytes(m: EncodedMessage | RawMessage): number {
  let size = (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64;
  for (const [name, value] of Object.entries(m.headers))
    size += name.length + (typeof value === 'string' ? Buffer.byteLength(value) : value.length);
  return size;
}

/** The broker refused a message as larger than the topic takes (`max.message.bytes`): sending it again cannot succeed. */
export class MessageTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageTooLargeError';
  }
}

/** kafkajs reports it as a protocol error, sometimes wrapped (retries, several partitions). */
function isTooLarge(error: unknown, depth = 0): boolean {
  const e = error as { type?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] } | undefined;
  if (!e || depth > 4) return false;
  if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  return (
    isTooLarge(e.cause, depth + 1) ||
    isTooLarge(e.originalError, depth + 1) ||
    (Array.isArray(e.errors) && e.errors.some((x) => isTooLarge(x, depth + 1)))
  );
}

/**
 * A send (its connect included) that has not ended within its deadline. kafkajs can wait forever on
 * a broker that restarted under it (a connect or an idempotent producer's InitProducerId that never
 * answers); the producer is reset, and the caller retries on a fresh connection.
 */
export class SendTimeoutError extends Error {
  readonly dependencyUnavailable = true;

  constructor(ms: number) {
    super(`no answer from Kafka within ${ms} ms; the producer reconnects`);
    this.name = 'SendTimeoutError';
  }
}

/** Longer than kafkajs's own retries of a request (see kafkaClientConfig), so only a hang ends here. */
export const SEND_DEADLINE_MS = 45_000;

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

  constructor(
    kafka: Kafka,
    private readonly deadlineMs = SEND_DEADLINE_MS,
  ) {
    // The Java client's murmur2 partitioner, so keys land where any Kafka tool expects them.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
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

  /**
   * Sends in the given order; resolves only when every message is acknowledged by all in-sync
   * replicas. Cut into requests of at most SEND_MAX_BYTES and SEND_MAX_MESSAGES, one after the other: the broker refuses
   * a partition's batch over its `message.max.bytes` (1 MB by default), and a relay that retried such
   * a batch would stall (twenty 100 KB evaluation chunks did). Throws `MessageTooLargeError` when
   * the broker refuses a request for its size (the messages before it are sent).
   */
  async send(messages: Array<EncodedMessage | RawMessage>): Promise<void> {
    if (!messages.length) return;
    let timer: NodeJS.Timeout | undefined;
    const sending = this.sendNow(messages);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SendTimeoutError(this.deadlineMs)), this.deadlineMs);
    });
    try {
      await Promise.race([sending, deadline]);
    } catch (error) {
      if (error instanceof SendTimeoutError) {
        sending.catch(() => undefined); // it may still end, later: nobody waits for it any more
        this.connected = undefined;
        void this.producer.disconnect().catch(() => undefined);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async sendNow(messages: Array<EncodedMessage | RawMessage>): Promise<void> {
    await this.connect();
    let part: Array<EncodedMessage | RawMessage> = [];
    let bytes = 0;
    for (const m of messages) {
      const size = messageBytes(m);
      if (part.length && (bytes + size > SEND_MAX_BYTES || part.length === SEND_MAX_MESSAGES)) {
        await this.sendPart(part);
        part = [];
        bytes = 0;
      }
      part.push(m);
      bytes += size;
    }
    await this.sendPart(part);
  }

  private async sendPart(messages: Array<EncodedMessage | RawMessage>): Promise<void> {
    // Keep order: consecutive messages for one topic go in one batch entry.
    const topicMessages: Array<{
      topic: string;
      messages: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string | Buffer> }>;
    }> = [];
    for (const m of messages) {
      const last = topicMessages[topicMessages.length - 1];
      const entry = { key: m.key, value: m.value, headers: m.headers };
      if (last && last.topic === m.topic) last.messages.push(entry);
      else topicMessages.push({ topic: m.topic, messages: [entry] });
    }
    try {
      await this.producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
    } catch (error) {
      if (isTooLarge(error)) throw new MessageTooLargeError((error as Error).message);
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    this.connected = undefined;
  }
}
