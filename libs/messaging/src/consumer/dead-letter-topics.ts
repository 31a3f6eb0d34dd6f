import { Kafka } from 'kafkajs';
import {
  ConsumerGroup,
  deadLetterTopic,
  DecodedEvent,
  EventCodec,
  fullTopicName,
  Header,
  retryTopic,
} from '@groups-sync/contracts';
import { partitionBounds, readRanges } from '../kafka/topic-reader';
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
    const bounds = await partitionBounds(
      this.kafka,
      groups.map((g) => this.topicOf(g)),
    );
    const read = await readRanges(
      this.kafka,
      bounds.map(({ topic, partition, low, high }) => ({ topic, partition, from: low, to: high })),
      READ_TIMEOUT_MS,
    );
    return read.map((m) => deadLetterOf(m, this.groupOf(m.topic)));
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
