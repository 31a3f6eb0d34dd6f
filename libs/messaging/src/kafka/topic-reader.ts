import { Consumer, Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { headerText } from './header-text';
import { retryWhileLeaderless } from './kafka-client';

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

const UNKNOWN_TOPIC_WAIT_MS = 10_000;
/**
 * How long the broker holds a reader's fetch when nothing is new. kafkajs's default (5 s) is also
 * how long stopping a reader waits for its last fetch: a `dlq` command or a test's reader would
 * stop 5 s after its last message.
 */
const READER_FETCH_WAIT_MS = 100;

/** A consumer under a throwaway group, for reading and nothing else. */
function readerConsumer(kafka: Kafka): Consumer {
  return kafka.consumer({
    groupId: `topic-reader-${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: READER_FETCH_WAIT_MS,
  });
}

/**
 * Reads a topic from the beginning into memory, under a throwaway consumer group. For operators'
 * tools (listing dead letters) and for tests; never part of a service's processing.
 */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  private readonly consumer: Consumer;

  /** `onMessage` sees each message as it arrives (benchmarks time deliveries with it). */
  constructor(
    kafka: Kafka,
    private readonly topics: string[],
    private readonly onMessage?: (message: ReadMessage) => void,
  ) {
    this.consumer = readerConsumer(kafka);
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    // A topic created a moment ago may not be in the broker's metadata yet (kafkajs retries a
    // missing leader, not an unknown topic): wait for it a little, as for a leader.
    for (const deadline = Date.now() + UNKNOWN_TOPIC_WAIT_MS; ;) {
      try {
        await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
        break;
      } catch (error) {
        if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const read = {
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: headerText(message.headers).text,
        };
        this.messages.push(read);
        this.onMessage?.(read);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** Offsets `[from, to)` of one partition. */
export interface OffsetRange {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
}

/** The offsets a partition holds now: `[low, high)`. */
export interface PartitionBounds {
  topic: string;
  partition: number;
  low: bigint;
  high: bigint;
}

/** Every partition of these topics with what it holds; a topic that does not exist has none. */
export async function partitionBounds(kafka: Kafka, topics: string[]): Promise<PartitionBounds[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: PartitionBounds[] = [];
    for (const topic of topics) {
      // A partition whose leader is still settling would otherwise read as a topic with nothing in it.
      const offsets = await retryWhileLeaderless(() => admin.fetchTopicOffsets(topic)).catch(() => []);
      for (const p of offsets.sort((a, b) => a.partition - b.partition))
        out.push({ topic, partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads just these offset ranges (a page of a topic, one message) under a throwaway consumer group:
 * each partition is sought to its range's start and paused at its end. Other partitions of the
 * same topics are read and dropped, so keep to topics read whole by partition (dead-letter topics
 * have one). Messages in the order of the ranges, then of offsets.
 */
export async function readRanges(kafka: Kafka, ranges: OffsetRange[], timeoutMs = 30_000): Promise<ReadMessage[]> {
  const wanted = ranges.filter((r) => r.to > r.from);
  if (!wanted.length) return [];
  const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;
  const remaining = new Map(wanted.map((r) => [keyOf(r.topic, r.partition), r]));
  const read = new Map<string, ReadMessage[]>(wanted.map((r) => [keyOf(r.topic, r.partition), []]));
  const consumer = readerConsumer(kafka);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set(wanted.map((r) => r.topic))], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`offsets not read within ${timeoutMs / 1000} s`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            const key = keyOf(topic, partition);
            const range = remaining.get(key);
            const offset = BigInt(message.offset);
            // Before the seek took effect, or a partition already complete.
            if (!range || offset < range.from) return;
            if (offset < range.to)
              read.get(key)!.push({
                topic,
                partition,
                offset: message.offset,
                key: message.key,
                value: message.value,
                headers: headerText(message.headers).text,
              });
            if (offset + 1n >= range.to) {
              remaining.delete(key);
              consumer.pause([{ topic, partitions: [partition] }]);
            }
            if (!remaining.size) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .then(() =>
          wanted.forEach((r) => consumer.seek({ topic: r.topic, partition: r.partition, offset: String(r.from) })),
        )
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return wanted.flatMap((r) => read.get(keyOf(r.topic, r.partition))!);
}
