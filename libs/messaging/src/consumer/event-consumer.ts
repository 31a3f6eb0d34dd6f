import { Logger } from '@nestjs/common';
import { Consumer, EachMessagePayload, IHeaders, Kafka } from 'kafkajs';
import { Counter, Histogram } from 'prom-client';
import {
  ConsumerGroup, deadLetterTopic, DecodedEvent, EventCodec, EventCodecError, EventType, fullTopicName, Header, retryTopic, Topic,
} from '@groups-sync/contracts';
import { headerText } from '../kafka/header-text';
import { MessageProducer } from '../kafka/message-producer';
import { metric } from '../metrics';
import { isDependencyUnavailable, PoisonMessageError, RetryBudgetExceededError } from './consumer.errors';
import { deadLetterHeaders } from './dead-letter';

export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
  heartbeat(): Promise<void>;
}

export type EventHandler<T extends EventType = EventType> = (event: DecodedEvent<T>, context: HandlerContext) => Promise<void>;
export type EventHandlers = { [T in EventType]?: EventHandler<T> };

export interface EventConsumerOptions {
  group: ConsumerGroup;
  topicPrefix?: string | null;
  topics: Topic[];
  handlers: EventHandlers;
  /** Attempts for a failing message before it is dead-lettered. Failures of an unavailable dependency do not count. */
  maxAttempts: number;
  backoffInitialMs?: number;
  backoffMaxMs: number;
  partitionsConsumedConcurrently?: number;
}

const handled = metric('consumer_messages_total', () => new Counter({
  name: 'consumer_messages_total', help: 'Messages consumed, by outcome', labelNames: ['group', 'event_type', 'outcome'],
}));
const deadLettered = metric('dead_letters_total', () => new Counter({
  name: 'dead_letters_total', help: 'Messages sent to a dead-letter topic', labelNames: ['group', 'reason'],
}));
const waiting = metric('consumer_dependency_waits_total', () => new Counter({
  name: 'consumer_dependency_waits_total', help: 'Retries spent waiting for an unavailable dependency (not counted against a message)', labelNames: ['group'],
}));
const duration = metric('consumer_handle_seconds', () => new Histogram({
  name: 'consumer_handle_seconds', help: 'Time to handle one delivery of a message', labelNames: ['group'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
}));

function eventHeaders(headers: IHeaders | undefined): Record<string, string> {
  const { text, repeated } = headerText(headers);
  // event-bus-kafka refuses a message whose ce_type or ce_id appears more than once.
  const twice = repeated.find((name) => name === Header.Type || name === Header.Id);
  if (twice) throw new PoisonMessageError('DUPLICATE_HEADER', `header "${twice}" appears more than once`);
  return text;
}

/** How often handled offsets are committed (at-least-once: the inbox absorbs a redelivery). */
const COMMIT_INTERVAL_MS = 200;

interface RetryState { attempt: number; counted: number; firstFailure?: Date }

/**
 * Consumes a set of topics for one consumer group and dispatches on `ce_type`.
 * - Offsets are committed by this runner, only for messages handled, skipped or dead-lettered.
 * - A failing message is retried with exponential backoff by pausing its partition and rewinding
 *   it to the message: the partition waits, in order, while the instance's other partitions go on.
 *   A dependency that is down (DependencyUnavailableError, a lost database connection) is waited
 *   for without spending the message's budget.
 * - Poison messages (undecodable, unknown type, invalid data) and messages over their retry budget
 *   go to the group's dead-letter topic with the reason in headers; then the offset moves on.
 * - Known types with no handler here (topics carry several types) are skipped.
 * The group also reads its own retry topic, where operators replay dead letters.
 */
export class EventConsumer {
  private readonly logger: Logger;
  private readonly consumer: Consumer;
  private stopping = false;
  private joined = false;
  private crashed?: string;
  /** Messages being retried, by `topic|partition|offset`. */
  private readonly retries = new Map<string, RetryState>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** The next offset to commit, by `topic|partition`. */
  private readonly toCommit = new Map<string, { topic: string; partition: number; offset: string }>();
  private commitTimer?: NodeJS.Timeout;

  constructor(
    kafka: Kafka,
    private readonly codec: EventCodec,
    private readonly producer: MessageProducer,
    private readonly options: EventConsumerOptions,
  ) {
    this.logger = new Logger(`consumer:${options.group}`);
    this.consumer = kafka.consumer({
      groupId: fullTopicName(options.group, options.topicPrefix),
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: false,
      // A resumed partition joins the next fetch; a short long-poll keeps its retry on time.
      maxWaitTimeInMs: 250,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const { GROUP_JOIN, CRASH, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, () => {
      this.joined = true;
      this.crashed = undefined;
      // A new assignment: offsets held for partitions this member may have lost are stale, and
      // the partitions it has start from their committed offsets.
      this.toCommit.clear();
      this.retries.clear();
    });
    this.consumer.on(DISCONNECT, () => { this.joined = false; });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      this.crashed = e.payload.error.message;
      this.logger.error(`consumer crashed: ${e.payload.error.message} (restart: ${e.payload.restart})`);
    });
  }

  get topics(): string[] {
    const { topics, group, topicPrefix } = this.options;
    return [...topics.map((t) => fullTopicName(t, topicPrefix)), fullTopicName(retryTopic(group), topicPrefix)];
  }

  get deadLetterTopic(): string {
    return fullTopicName(deadLetterTopic(this.options.group), this.options.topicPrefix);
  }

  status(): { joined: boolean; crashed?: string } {
    return { joined: this.joined, crashed: this.crashed };
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    this.commitTimer = setInterval(() => void this.commit(), COMMIT_INTERVAL_MS);
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachMessage: (payload) => this.handle(payload),
    });
  }

  /**
   * Commits what was handled, then stops fetching and leaves the group once the in-flight message
   * is done (its offset, committed or not, is safe: a redelivery meets the inbox).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    clearInterval(this.commitTimer);
    await this.commit();
    await this.consumer.disconnect();
  }

  private async commit(): Promise<void> {
    if (!this.toCommit.size) return;
    const offsets = [...this.toCommit.values()];
    this.toCommit.clear();
    try {
      await this.consumer.commitOffsets(offsets);
    } catch (error) {
      // Most likely a rebalance: the new owner starts from the last commit and the inbox skips repeats.
      this.logger.warn(`committing offsets failed: ${(error as Error).message}`);
    }
  }

  private done(topic: string, partition: number, offset: string): void {
    this.retries.delete(`${topic}|${partition}|${offset}`);
    this.toCommit.set(`${topic}|${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
  }

  private async handle({ topic, partition, message, heartbeat, pause }: EachMessagePayload): Promise<void> {
    const key = `${topic}|${partition}|${message.offset}`;
    const state = this.retries.get(key) ?? { attempt: 0, counted: 0 };
    state.attempt++;
    const endTimer = duration.startTimer({ group: this.options.group });
    let eventType = 'unknown';
    try {
      const event = await this.codec.decode(message.value, eventHeaders(message.headers), message.key);
      eventType = event.type;
      const handler = this.options.handlers[event.type] as EventHandler | undefined;
      if (handler) await handler(event, { topic, partition, offset: message.offset, attempt: state.attempt, heartbeat });
      handled.inc({ group: this.options.group, event_type: eventType, outcome: handler ? 'handled' : 'skipped' });
      this.done(topic, partition, message.offset);
    } catch (error) {
      state.firstFailure ??= new Date();
      const err = error instanceof Error ? error : new Error(String(error));
      const poisonReason = error instanceof EventCodecError ? error.code : error instanceof PoisonMessageError ? error.reason : undefined;
      if (!poisonReason && this.stopping) return; // left uncommitted: redelivered after the restart
      const dependencyDown = !poisonReason && isDependencyUnavailable(error);
      if (!dependencyDown) state.counted++;
      if (poisonReason || state.counted >= this.options.maxAttempts) {
        const reason = poisonReason ?? 'RETRY_BUDGET_EXCEEDED';
        const cause = poisonReason ? err : new RetryBudgetExceededError(state.attempt, err);
        // If the dead-letter topic cannot be written either, this throws: nothing is committed.
        await this.deadLetter({ topic, partition, message }, cause, reason, state.attempt, state.firstFailure);
        handled.inc({ group: this.options.group, event_type: eventType, outcome: 'dead_lettered' });
        this.done(topic, partition, message.offset);
      } else {
        if (dependencyDown) waiting.inc({ group: this.options.group });
        this.retries.set(key, state);
        // The backoff grows with every attempt, counted or not, up to its cap.
        const delay = Math.min(this.options.backoffMaxMs, (this.options.backoffInitialMs ?? 200) * 2 ** Math.min(state.attempt - 1, 20));
        const budget = dependencyDown ? 'dependency unavailable, not counted' : `${state.counted}/${this.options.maxAttempts}`;
        this.logger.warn(`${eventType} at ${topic}[${partition}]@${message.offset} failed (attempt ${state.attempt}, ${budget}), retrying in ${delay} ms: ${err.message}`);
        this.retryLater(topic, partition, message.offset, delay, pause);
      }
    } finally {
      endTimer();
    }
  }

  /** Holds just this partition: paused, rewound to the message, resumed after the delay. */
  private retryLater(topic: string, partition: number, offset: string, delayMs: number, pause: EachMessagePayload['pause']): void {
    const resume = pause();
    this.consumer.seek({ topic, partition, offset });
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.stopping) resume();
    }, delayMs);
    this.resumeTimers.add(timer);
  }

  private async deadLetter(
    source: Pick<EachMessagePayload, 'topic' | 'partition' | 'message'>, error: Error, reason: string, attempts: number, firstFailureTime: Date,
  ): Promise<void> {
    const { topic, partition, message } = source;
    const original: Record<string, Buffer | string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value !== undefined) original[name] = Array.isArray(value) ? value[0] : value;
    }
    const headers = {
      ...original,
      ...deadLetterHeaders({ error, reason, topic, partition, offset: message.offset, attempts, firstFailureTime, consumerGroup: this.options.group }),
    };
    // If the dead-letter topic cannot be written either, this throws: the offset is not committed.
    await this.producer.send([{ topic: this.deadLetterTopic, key: message.key ?? null, value: message.value ?? null, headers }]);
    deadLettered.inc({ group: this.options.group, reason });
    this.logger.warn(`dead-lettered ${topic}[${partition}]@${message.offset}: ${reason}: ${error.message}`);
  }
}
