import { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import {
  ConsumerGroup,
  deadLetterTopic,
  DecodedEvent,
  EventCodec,
  fullTopicName,
  Header,
  retryTopic,
} from '@groups-sync/contracts';
import { headerText } from '../kafka/header-text';
import { ReadMessage } from '../kafka/topic-reader';
import { MessageProducer } from '../kafka/message-producer';
import { DeadLetterHeader } from './dead-letter';

/** One message of a dead-letter topic, with why it is there. */
export interface DeadLetter {
  /** `topic:partition:offset` of the dead letter itself. */
  id: string;
  topic: string;
  partition: number;
  offset: string;
  consumerGroup: string;
  reason: string;
  error: string;
  eventType: string | null;
  ceId: string | null;
  deadLetteredAt: string | null;
  original: { topic: string | null; partition: number | null; offset: string | null };
  attempts: number | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

const READ_TIMEOUT_MS = 30_000;

/**
 * The dead-letter topics of every consumer group, for operators: read them whole, decode one, and
 * replay into the retry topic that only the failing group reads, with the original key, value and
 * `ce_*` headers (the same `ce_id`, so the group's inbox recognises what it applied already).
 */
export class DeadLetterTopics {
  constructor(
    private readonly kafka: Kafka,
    private readonly producer: MessageProducer,
    private readonly codec: EventCodec,
    private readonly prefix: string | null | undefined,
  ) {}

  topicOf(group: string): string {
    return fullTopicName(deadLetterTopic(group), this.prefix);
  }

  /** The consumer group whose dead-letter topic this is. */
  groupOf(topic: string): string | undefined {
    return Object.values(ConsumerGroup).find((g) => this.topicOf(g) === topic);
  }

  /** Every dead letter of these groups (all groups by default), oldest first per topic. */
  async readAll(groups: string[] = Object.values(ConsumerGroup)): Promise<DeadLetter[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = new Map<string, Map<number, bigint>>();
    try {
      for (const group of groups) {
        const topic = this.topicOf(group);
        const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
        const open = new Map(
          offsets.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
        );
        if (open.size) ends.set(topic, open);
      }
    } finally {
      await admin.disconnect();
    }
    if (!ends.size) return [];
    const letters: DeadLetter[] = [];
    const consumer = this.kafka.consumer({
      groupId: `dead-letter-reader-${randomUUID()}`,
      allowAutoTopicCreation: false,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [...ends.keys()], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`dead-letter topics not read within ${READ_TIMEOUT_MS / 1000} s`)),
          READ_TIMEOUT_MS,
        );
        const remaining = new Map([...ends].map(([t, parts]) => [t, new Map(parts)]));
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ topic, partition, message }) => {
              const { key, value, offset } = message;
              const group = topic.replace(/\.dead-letter$/, '').replace(this.prefix ? `${this.prefix}-` : '', '');
              letters.push(
                deadLetterOf(
                  { topic, partition, offset, key, value, headers: headerText(message.headers).text },
                  group,
                ),
              );
              const parts = remaining.get(topic);
              if (parts && BigInt(message.offset) + 1n >= (parts.get(partition) ?? 0n)) parts.delete(partition);
              if ([...remaining.values()].every((p) => p.size === 0)) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return letters;
  }

  /** The event a dead letter carries, or why it cannot be decoded. */
  async decode(letter: DeadLetter): Promise<{ event: DecodedEvent } | { error: string }> {
    try {
      return { event: await this.codec.decode(letter.value, letter.headers, letter.key) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  /** Sends the original messages to their groups' retry topics, in the given order. */
  async replay(letters: DeadLetter[]): Promise<void> {
    await this.producer.send(
      letters.map((l) => ({
        topic: fullTopicName(retryTopic(l.consumerGroup), this.prefix),
        key: l.key,
        value: l.value,
        headers: Object.fromEntries(Object.entries(l.headers).filter(([name]) => !name.startsWith('dlq_'))),
      })),
    );
  }
}

/** A dead-letter message as operators see it, from the message as read (a page of them, or readAll). */
export function deadLetterOf(message: ReadMessage, groupOfTopic?: string): DeadLetter {
  const { topic, partition, offset, key, value, headers } = message;
  const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
  return {
    id: `${topic}:${partition}:${offset}`,
    topic,
    partition,
    offset,
    consumerGroup: headers[DeadLetterHeader.ConsumerGroup] ?? groupOfTopic ?? topic.replace(/\.dead-letter$/, ''),
    reason: headers[DeadLetterHeader.Reason] ?? 'unknown',
    error: headers[DeadLetterHeader.ErrorMessage] ?? '',
    eventType: headers[Header.Type] ?? null,
    ceId: headers[Header.Id] ?? null,
    deadLetteredAt: headers[DeadLetterHeader.DeadLetteredAt] ?? null,
    original: {
      topic: headers[DeadLetterHeader.OriginalTopic] ?? null,
      partition: num(headers[DeadLetterHeader.OriginalPartition]),
      offset: headers[DeadLetterHeader.OriginalOffset] ?? null,
    },
    attempts: num(headers[DeadLetterHeader.Attempts]),
    key,
    value,
    headers,
  };
}
