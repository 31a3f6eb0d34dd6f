import { Kafka } from 'kafkajs';
import { DeadLetter, deadLetterOf, DeadLetterTopics } from '../consumer/dead-letter-topics';
import { OffsetRange, partitionBounds, PartitionBounds, readRanges } from './topic-reader';

/** One page of dead letters; `next`: the cursor of the page after, null when this one reached the end. */
export interface DeadLetterPage {
  letters: DeadLetter[];
  next: string | null;
}

/** How many letters a dead-letter partition holds now, with the group it belongs to. */
export interface DeadLetterPartition extends PartitionBounds {
  consumerGroup: string;
}

/**
 * The dead-letter topics read a page at a time (operators' list, show, replay, resolve): only the
 * offsets of the page are fetched, so a month of letters costs what one page does. The order is
 * the groups' as given, then partition, then offset; a cursor is the id (`topic:partition:offset`)
 * of the last letter of a page.
 */
export class DeadLetterPages {
  constructor(
    private readonly kafka: Kafka,
    private readonly topics: DeadLetterTopics,
  ) {}

  /** The partitions of these groups' dead-letter topics and what they hold, without reading a letter. */
  async partitions(groups: string[]): Promise<DeadLetterPartition[]> {
    const bounds = await partitionBounds(
      this.kafka,
      groups.map((g) => this.topics.topicOf(g)),
    );
    return bounds.map((b) => ({ ...b, consumerGroup: this.topics.groupOf(b.topic) ?? b.topic }));
  }

  /** Up to `limit` letters of these groups after the cursor (from the first without one). */
  async page(groups: string[], after: string | null, limit: number): Promise<DeadLetterPage> {
    const partitions = await this.partitions(groups);
    let start = 0;
    let from: bigint | null = null;
    if (after) {
      const cursor = parseDeadLetterId(after);
      start = partitions.findIndex((p) => p.topic === cursor.topic && p.partition === cursor.partition);
      if (start < 0) throw new Error(`cursor ${after} is not in the dead-letter topics of ${groups.join(', ')}`);
      from = cursor.offset + 1n;
    }
    const ranges: OffsetRange[] = [];
    let budget = BigInt(limit);
    let lastIndex = -1;
    for (let i = start; i < partitions.length && budget > 0n; i++) {
      const p = partitions[i];
      const begin = i === start && from !== null && from > p.low ? from : p.low;
      const end = begin + budget < p.high ? begin + budget : p.high;
      if (end <= begin) continue;
      ranges.push({ topic: p.topic, partition: p.partition, from: begin, to: end });
      budget -= end - begin;
      lastIndex = i;
    }
    const letters = (await readRanges(this.kafka, ranges)).map((m) => deadLetterOf(m, this.topics.groupOf(m.topic)));
    const last = ranges[ranges.length - 1];
    const more =
      !!last && (last.to < partitions[lastIndex].high || partitions.slice(lastIndex + 1).some((p) => p.high > p.low));
    return { letters, next: more ? `${last.topic}:${last.partition}:${last.to - 1n}` : null };
  }

  /** One letter by id, or null when its topic no longer holds it. */
  async one(id: string): Promise<DeadLetter | null> {
    const { topic, partition, offset } = parseDeadLetterId(id);
    const bounds = (await partitionBounds(this.kafka, [topic])).find((b) => b.partition === partition);
    if (!bounds || offset < bounds.low || offset >= bounds.high) return null;
    const [message] = await readRanges(this.kafka, [{ topic, partition, from: offset, to: offset + 1n }]);
    return message ? deadLetterOf(message, this.topics.groupOf(topic)) : null;
  }
}

/** A dead letter's id: `<topic>:<partition>:<offset>` (a topic name's characters, then two numbers). */
export const DEAD_LETTER_ID = /^([\w.-]+):(\d+):(\d+)$/;

export function parseDeadLetterId(id: string): { topic: string; partition: number; offset: bigint } {
  const match = DEAD_LETTER_ID.exec(id);
  if (!match) throw new Error(`a dead letter is named TOPIC:PARTITION:OFFSET, not "${id}"`);
  return { topic: match[1], partition: Number(match[2]), offset: BigInt(match[3]) };
}
