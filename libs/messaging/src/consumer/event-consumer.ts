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
  name: 'consumer_handle_seconds', help: 'Time to handle one message, retries included', labelNames: ['group'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
}));

function eventHeaders(headers: IHeaders | undefined): Record<string, string> {
  const { text, repeated } = headerText(headers);
  // event-bus-kafka refuses a message whose ce_type or ce_id appears more than once.
  const twice = repeated.find((name) => name === Header.Type || name === Header.Id);
  if (twice) throw new PoisonMessageError('DUPLICATE_HEADER', `header "${twice}" appears more than once`);
  return text;
}

/**
 * Consumes a set of topics for one consumer group and dispatches on `ce_type`.
 * - Failures are retried in place with exponential backoff (heartbeating), offset not committed, so
 *   the partition waits rather than skipping. A dependency that is down (DependencyUnavailableError,
 *   a lost database connection) is waited for without spending the message's budget.
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
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const { GROUP_JOIN, CRASH, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, () => { this.joined = true; this.crashed = undefined; });
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
    await this.consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachMessage: (payload) => this.handle(payload),
    });
  }

  /** Stops fetching, lets the in-flight message finish (or abandon its retries uncommitted), leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer.disconnect();
  }

  private async handle({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const endTimer = duration.startTimer({ group: this.options.group });
    let firstFailure: Date | undefined;
    let eventType = 'unknown';
    let counted = 0; // attempts that spent the budget
    for (let attempt = 1; ; attempt++) {
      try {
        const event = await this.codec.decode(message.value, eventHeaders(message.headers), message.key);
        eventType = event.type;
        const handler = this.options.handlers[event.type] as EventHandler | undefined;
        if (!handler) {
          handled.inc({ group: this.options.group, event_type: eventType, outcome: 'skipped' });
          endTimer();
          return;
        }
        await handler(event, { topic, partition, offset: message.offset, attempt, heartbeat });
        handled.inc({ group: this.options.group, event_type: eventType, outcome: 'handled' });
        endTimer();
        return;
      } catch (error) {
        firstFailure ??= new Date();
        const err = error instanceof Error ? error : new Error(String(error));
        const poisonReason = error instanceof EventCodecError ? error.code : error instanceof PoisonMessageError ? error.reason : undefined;
        if (!poisonReason && this.stopping) throw err; // leave it uncommitted; it is redelivered after restart
        const dependencyDown = !poisonReason && isDependencyUnavailable(error);
        if (!dependencyDown) counted++;
        if (poisonReason || counted >= this.options.maxAttempts) {
          const reason = poisonReason ?? 'RETRY_BUDGET_EXCEEDED';
          const cause = poisonReason ? err : new RetryBudgetExceededError(attempt, err);
          await this.deadLetter({ topic, partition, message }, cause, reason, attempt, firstFailure);
          handled.inc({ group: this.options.group, event_type: eventType, outcome: 'dead_lettered' });
          endTimer();
          return;
        }
        if (dependencyDown) waiting.inc({ group: this.options.group });
        // The backoff grows with every attempt, counted or not, up to its cap.
        const delay = Math.min(this.options.backoffMaxMs, (this.options.backoffInitialMs ?? 200) * 2 ** Math.min(attempt - 1, 20));
        const budget = dependencyDown ? 'dependency unavailable, not counted' : `${counted}/${this.options.maxAttempts}`;
        this.logger.warn(`${eventType} at ${topic}[${partition}]@${message.offset} failed (attempt ${attempt}, ${budget}), retrying in ${delay} ms: ${err.message}`);
        await this.pause(delay, heartbeat);
      }
    }
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

  /**
   * Waits between attempts, heartbeating. A failing heartbeat (a rebalance, the broker gone) is let
   * through: the message stays uncommitted and the consumer rejoins instead of being evicted.
   */
  private async pause(ms: number, heartbeat: () => Promise<void>): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && Date.now() < until) {
      await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
      await heartbeat();
    }
  }
}
