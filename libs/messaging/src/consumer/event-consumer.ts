import { Logger } from '@nestjs/common';
import { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import { Counter, Gauge, Histogram } from 'prom-client';
import {
  ConsumerGroup, deadLetterTopic, DecodedEvent, EventCodec, EventCodecError, EventType, fullTopicName, Header, isEventType, retryTopic, Topic,
} from '@groups-sync/contracts';
import { personalValues, redactPersonalData } from '@groups-sync/observability';
import { headerText } from '../kafka/header-text';
import { MessageProducer } from '../kafka/message-producer';
import { metric } from '../metrics';
import { isDependencyUnavailable, isHeldByOperator, OutageBudgetExceededError, PoisonMessageError, RetryBudgetExceededError } from './consumer.errors';
import { ConsumerAttempts, DeliveryAttempts } from './consumer-attempts';
import { ConsumerStalls } from './consumer-stalls';
import { deadLetterHeaders } from './dead-letter';

export interface HandlerContext {
  topic: string;
  /** The batch comes from the group's retry topic: an operator replayed dead letters. */
  replayed?: boolean;
  partition: number;
  /** Offset of the first message handed over. */
  offset: string;
  /** Deliveries of this batch (or message) so far, this one included. */
  attempt: number;
  heartbeat(): Promise<void>;
}

export type EventHandler<T extends EventType = EventType> = (event: DecodedEvent<T>, context: HandlerContext) => Promise<void>;
export type EventHandlers = { [T in EventType]?: EventHandler<T> };

/**
 * Takes the decoded events of one partition batch, in order. Throw PoisonMessageError naming the
 * event to set it aside (the rest are handed over again); any other error retries the batch.
 */
export interface BatchHandler {
  types: EventType[];
  /** Cheap, synchronous: events it refuses are skipped before the handler (and any database work). */
  filter?: (event: DecodedEvent) => boolean;
  handle(events: DecodedEvent[], context: HandlerContext): Promise<void>;
}

export interface EventConsumerOptions {
  group: ConsumerGroup;
  topicPrefix?: string | null;
  topics: Topic[];
  /** One handler per event type, called message by message. */
  handlers?: EventHandlers;
  /** Or one handler for whole batches. */
  batch?: BatchHandler;
  /** Attempts for a failing message before it is dead-lettered. Failures of an unavailable dependency do not count. */
  maxAttempts: number;
  /** How long a message may wait for an unavailable dependency, from its first failure, before it is dead-lettered (one hour by default). */
  outageBudgetMs?: number;
  /** Keeps each stalled message's first failure across rebalances and restarts; without it, only in this member's memory. */
  stalls?: ConsumerStalls;
  /** Keeps each retried message's attempts across restarts and rebalances, counted before each delivery; without it, only in this member's memory. */
  attempts?: Pick<ConsumerAttempts, 'get' | 'begin' | 'set' | 'cleared'>;
  backoffInitialMs?: number;
  backoffMaxMs: number;
  partitionsConsumedConcurrently?: number;
  /** Bounds of one handler call. */
  maxBatchMessages?: number;
  maxBatchBytes?: number;
  /** KAFKA_SESSION_TIMEOUT_MS: how long a dead member keeps its partitions (6 s by default). */
  sessionTimeoutMs?: number;
  /** KAFKA_HEARTBEAT_INTERVAL_MS: also how often a running batch heartbeats (1 s by default). */
  heartbeatIntervalMs?: number;
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
const outageDeadLettered = metric('consumer_outage_dead_lettered_total', () => new Counter({
  name: 'consumer_outage_dead_lettered_total', help: 'Messages dead-lettered after their dependency stayed unavailable for the whole outage budget', labelNames: ['group'],
}));
/** Consumers running in this process, which the stall gauge reads when scraped. */
const running = new Set<EventConsumer>();
metric('consumer_stalled_seconds', () => new Gauge({
  name: 'consumer_stalled_seconds',
  help: 'How long the message a partition of the group is stuck on has been failing, for the longest-stuck partition (0: none)',
  labelNames: ['group'],
  collect() {
    const worst = new Map<string, number>();
    for (const c of running) worst.set(c.group, Math.max(worst.get(c.group) ?? 0, c.stalledSeconds()));
    this.reset();
    for (const [group, seconds] of worst) this.set({ group }, seconds);
  },
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
/** A survivor takes a `kill -9`ed member's partitions after the session, plus a heartbeat and a rebalance: within 10 s. */
const DEFAULT_SESSION_TIMEOUT_MS = 6000;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
const DEFAULT_OUTAGE_BUDGET_MS = 3600_000;

interface RetryState { attempt: number; counted: number; firstFailure?: Date }

type Message = EachBatchPayload['batch']['messages'][number];

/** Per-message handlers as one batch handler: each event in order, a poison one named. */
function perMessage(handlers: EventHandlers): BatchHandler {
  return {
    types: Object.keys(handlers) as EventType[],
    async handle(events, context) {
      for (const event of events) {
        try {
          await (handlers[event.type] as EventHandler)(event, context);
        } catch (error) {
          if (error instanceof PoisonMessageError && !error.event) throw new PoisonMessageError(error.reason, error.message, event);
          throw error;
        }
      }
    },
  };
}

/**
 * Consumes a set of topics for one consumer group, a partition batch at a time.
 * - The handler gets the decoded events of a batch (bounded by count and bytes) in order; types it
 *   does not take (topics carry several) and events its filter refuses are skipped first.
 * - Offsets are committed by this runner, only for messages handled, skipped or dead-lettered.
 * - A failing batch is retried with exponential backoff by pausing its partition and rewinding it:
 *   the partition waits, in order, while the instance's other partitions go on. The failed range is
 *   retried message by message, so attempts, the retry budget and a dead letter fall on the message
 *   at fault. A dependency that is down (DependencyUnavailableError, a lost database connection) is
 *   waited for without spending budget, up to the outage budget counted from the message's first
 *   failure (kept in ConsumerStalls, so a rebalance or a restart does not start it afresh); an
 *   operator's hold (HeldByOperatorError) is waited for as long as it lasts.
 * - Poison messages (undecodable, unknown type, invalid data) and messages over their retry budget
 *   go to the group's dead-letter topic with the reason in headers, alone: the rest of their batch
 *   still applies, in order.
 * The group also reads its own retry topic, where operators replay dead letters.
 */
export class EventConsumer {
  private readonly logger: Logger;
  private readonly consumer: Consumer;
  private started = false;
  private stopping = false;
  private joined = false;
  private crashed?: string;
  /** Messages being retried, by `topic|partition|offset`. */
  private readonly retries = new Map<string, RetryState>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** The next offset to commit, by `topic|partition`. */
  private readonly toCommit = new Map<string, { topic: string; partition: number; offset: string }>();
  private commitTimer?: NodeJS.Timeout;
  /** Counts assignments (GROUP_JOIN): offsets and retries of an earlier one may name partitions another member holds now. */
  private generation = 0;
  /** After a failed batch, the partition goes message by message up to this offset. */
  private readonly singleUntil = new Map<string, bigint>();
  /** Messages dead-lettered from a batch that has not completed yet, by `topic|partition|offset`. */
  private readonly setAside = new Set<string>();
  /** The message each failing partition is stuck on and since when, by `topic|partition`. */
  private readonly stalled = new Map<string, { offset: string; since: Date }>();
  /** Partitions with no stall row left in ConsumerStalls, as far as this member knows, by `topic|partition`. */
  private readonly unstalled = new Set<string>();
  /** Partitions that committed an offset since the last assignment: until then their deliveries are counted (a killed process committed nothing). */
  private readonly committed = new Set<string>();
  /** The ConsumerAttempts row of each partition as this member last read or wrote it (null: none), by `topic|partition`. */
  private readonly attemptRows = new Map<string, DeliveryAttempts | null>();
  private readonly groupId: string;
  private readonly handler: BatchHandler;

  constructor(
    kafka: Kafka,
    private readonly codec: EventCodec,
    private readonly producer: MessageProducer,
    private readonly options: EventConsumerOptions,
  ) {
    this.logger = new Logger(`consumer:${options.group}`);
    if (!options.batch === !options.handlers) throw new Error('a consumer takes either handlers or a batch handler');
    this.handler = options.batch ?? perMessage(options.handlers!);
    this.groupId = fullTopicName(options.group, options.topicPrefix);
    this.consumer = kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      heartbeatInterval: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      allowAutoTopicCreation: false,
      // A short long-poll: kafkajs often held a fetch for its whole wait although data had come
      // (measured: 200 changes/s took p50 250 ms end to end at 250 ms, 136 ms at 20 ms), and a
      // resumed partition joins the next fetch sooner.
      maxWaitTimeInMs: 20,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const { GROUP_JOIN, CRASH, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, () => {
      this.joined = true;
      this.crashed = undefined;
      this.generation++;
      // A new assignment: offsets held for partitions this member may have lost are stale, and
      // the partitions it has start from their committed offsets.
      this.toCommit.clear();
      this.retries.clear();
      this.singleUntil.clear();
      // Stalls too: a partition kept is read again from ConsumerStalls at its next failure.
      this.stalled.clear();
      this.unstalled.clear();
      this.committed.clear();
      this.attemptRows.clear();
      // setAside stays: it is keyed by offset, so a message dead-lettered before the rebalance is
      // not dead-lettered again when this member still owns its partition.
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

  get group(): string {
    return this.options.group;
  }

  /** The handler this runner feeds, for a reader of the same group on another bus. */
  get batchHandler(): BatchHandler {
    return this.handler;
  }

  status(): { group: string; joined: boolean; crashed?: string; stalledSeconds: number } {
    return { group: this.options.group, joined: this.joined, crashed: this.crashed, stalledSeconds: this.stalledSeconds() };
  }

  /** How long the longest-stuck of this member's partitions has been failing on one message (0: none). */
  stalledSeconds(): number {
    let oldest = Infinity;
    for (const { since } of this.stalled.values()) oldest = Math.min(oldest, since.getTime());
    return oldest === Infinity ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  }

  /** Connects and joins the group; throws if the broker does not answer, and may then be called again. */
  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    running.add(this);
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    } catch (error) {
      this.started = false;
      running.delete(this);
      await this.consumer.disconnect().catch(() => undefined);
      throw error;
    }
    this.commitTimer = setInterval(() => void this.commit(), COMMIT_INTERVAL_MS);
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /**
   * Commits what was handled, then stops fetching and leaves the group once the in-flight batch
   * is done (its offset, committed or not, is safe: a redelivery meets the inbox).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    running.delete(this);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    clearInterval(this.commitTimer);
    await this.commit();
    await this.consumer.disconnect();
  }

  private async commit(): Promise<void> {
    if (!this.toCommit.size) return;
    const offsets = [...this.toCommit.entries()];
    this.toCommit.clear();
    const generation = this.generation;
    try {
      await this.consumer.commitOffsets(offsets.map(([, o]) => o));
      if (generation === this.generation) for (const [key] of offsets) this.committed.add(key);
    } catch (error) {
      // Most likely a rebalance: the new owner starts from the last commit and the inbox skips
      // repeats. Kept for the next commit unless a newer offset came meanwhile (a quiet partition
      // would otherwise never commit what it handled). Not after a rebalance: the partition may be
      // another member's now, and an old offset committed over its progress would rewind it.
      if (generation === this.generation) for (const [key, o] of offsets) if (!this.toCommit.has(key)) this.toCommit.set(key, o);
      this.logger.warn(`committing offsets failed: ${(error as Error).message}`);
    }
  }

  private done(topic: string, partition: number, offset: string, generation = this.generation): void {
    if (generation !== this.generation) return; // handed over before a rebalance: the partition's offsets are no longer this member's to commit
    this.toCommit.set(`${topic}|${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
  }

  private async handleBatch({ batch, heartbeat, pause, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    const tp = `${topic}|${partition}`;
    const maxCount = this.options.maxBatchMessages ?? 500;
    const maxBytes = this.options.maxBatchBytes ?? 1024 * 1024;
    const generation = this.generation;
    if (this.options.attempts && !this.committed.has(tp) && messages.length) {
      // A row naming a message of this batch: a delivery of it did not end (the process was killed
      // mid-batch) or failed; its run goes message by message, so attempts fall on the one at fault.
      const row = await this.attemptRow(topic, partition);
      if (row && row.attempts > 0 && BigInt(row.offset) >= BigInt(messages[0].offset) && BigInt(row.offset) <= BigInt(messages[messages.length - 1].offset)) {
        const until = BigInt(row.lastOffset);
        if (until > (this.singleUntil.get(tp) ?? -1n)) this.singleUntil.set(tp, until);
      }
    }
    for (let i = 0; i < messages.length;) {
      if (!isRunning() || isStale() || this.stopping || generation !== this.generation) return;
      const single = this.singleUntil.get(tp);
      const chunk: Message[] = [];
      let bytes = 0;
      while (i < messages.length && chunk.length < maxCount) {
        const size = (messages[i].value?.length ?? 0) + (messages[i].key?.length ?? 0);
        if (chunk.length && (bytes + size > maxBytes || (single !== undefined && BigInt(chunk[0].offset) <= single))) break;
        chunk.push(messages[i]);
        bytes += size;
        i++;
      }
      // Decoding (the registry), the handler and dead letters all heartbeat: a chunk may outlast the session.
      if (!(await this.withHeartbeats(heartbeat, () => this.handleChunk(topic, partition, chunk, heartbeat, pause, generation)))) return;
      // Where the next fetch starts (commits are ours, above).
      resolveOffset(chunk[chunk.length - 1].offset);
      await heartbeat();
    }
  }

  /** Handles a run of messages of one partition; false when the partition was paused for a retry. */
  private async handleChunk(
    topic: string, partition: number, chunk: Message[], heartbeat: () => Promise<void>, pause: EachBatchPayload['pause'], generation = this.generation,
  ): Promise<boolean> {
    const first = chunk[0].offset;
    const last = chunk[chunk.length - 1].offset;
    const key = `${topic}|${partition}|${first}`;
    const state = this.retries.get(key) ?? { attempt: 0, counted: 0 };
    state.attempt++;
    const endTimer = duration.startTimer({ group: this.options.group });
    const items: Array<{ message: Message; event: DecodedEvent }> = [];
    // Counted before handling, so that a delivery the process does not survive counts too.
    const begun = await this.beginDelivery(topic, partition, chunk, key);
    const givenBack = () => this.giveBackDelivery(topic, partition, first, begun);
    if (begun && chunk.length === 1) state.counted = begun.attempts - 1;
    if (begun && chunk.length === 1 && state.counted >= this.options.maxAttempts) {
      const declared = chunk[0].headers?.[Header.Type]?.toString() ?? 'unknown';
      const lastError = new Error(`${state.counted} deliveries failed or did not finish (the process handling it stopped)`);
      await this.setAsideMessage(topic, partition, chunk[0], new RetryBudgetExceededError(state.counted, lastError), 'RETRY_BUDGET_EXCEEDED', state.counted, state.firstFailure ?? new Date(), declared);
      await this.completed(topic, partition, chunk, key, generation);
      endTimer();
      return true;
    }
    try {
      for (const message of chunk) {
        if (this.setAside.has(`${topic}|${partition}|${message.offset}`)) continue;
        // A known type this group does not handle is skipped on its ce_type header, undecoded: a
        // topic shared by many event types (the lifecycle topic) costs its other readers nothing.
        const declared = message.headers?.[Header.Type]?.toString();
        if (declared && isEventType(declared) && !this.handler.types.includes(declared)) {
          handled.inc({ group: this.options.group, event_type: declared, outcome: 'skipped' });
          continue;
        }
        let event: DecodedEvent;
        try {
          event = await this.codec.decode(message.value, eventHeaders(message.headers), message.key);
        } catch (error) {
          const reason = error instanceof EventCodecError ? error.code : error instanceof PoisonMessageError ? error.reason : undefined;
          if (!reason) throw error; // the registry is down: retry the batch
          await this.setAsideMessage(topic, partition, message, error as Error, reason, 1, new Date(), 'unknown');
          continue;
        }
        if (!this.handler.types.includes(event.type) || (this.handler.filter && !this.handler.filter(event))) {
          handled.inc({ group: this.options.group, event_type: event.type, outcome: 'skipped' });
          continue;
        }
        items.push({ message, event });
      }
      let remaining = items;
      while (remaining.length) {
        try {
          await this.handler.handle(remaining.map((x) => x.event), { topic, replayed: topic.endsWith('.retry'), partition, offset: first, attempt: state.attempt, heartbeat });
          break;
        } catch (error) {
          const culprit = error instanceof PoisonMessageError ? remaining.find((x) => x.event === error.event) ?? (remaining.length === 1 ? remaining[0] : undefined) : undefined;
          if (!culprit) throw error;
          const poison = error as PoisonMessageError;
          await this.setAsideMessage(topic, partition, culprit.message, poison, poison.reason, state.attempt, state.firstFailure ?? new Date(), culprit.event.type, culprit.event);
          remaining = remaining.filter((x) => x !== culprit);
        }
      }
      for (const x of remaining) handled.inc({ group: this.options.group, event_type: x.event.type, outcome: 'handled' });
      await this.completed(topic, partition, chunk, key, generation);
      return true;
    } catch (error) {
      state.firstFailure ??= new Date();
      const err = error instanceof Error ? error : new Error(String(error));
      if (this.stopping || generation !== this.generation) {
        // Left uncommitted: redelivered after the restart, or from the committed offset to whoever holds the partition now.
        await givenBack();
        return false;
      }
      const dependencyDown = isDependencyUnavailable(error);
      const eventType = items[0]?.event.type ?? 'unknown';
      const personal = () => items.reduce((found, x) => personalValues(x.event.data, found), new Set<string>());
      if (chunk.length > 1) {
        // Retried message by message over this range, so that attempts, budgets and a dead letter
        // fall on the message at fault; this delivery counts against nobody's budget.
        this.singleUntil.set(`${topic}|${partition}`, BigInt(last));
        this.retries.set(key, state);
        await givenBack();
        const delay = this.backoff(state.attempt);
        this.logger.warn(`batch ${topic}[${partition}]@${first}..${last} failed, retrying message by message in ${delay} ms: ${redactPersonalData(err.message, personal())}`);
        if (dependencyDown) waiting.inc({ group: this.options.group });
        this.retryLater(topic, partition, first, delay, pause);
        return false;
      }
      if (dependencyDown) await givenBack();
      else {
        state.counted++;
        // Begun deliveries are counted already; a first failure outside them is written now, for a restart to find.
        if (!begun && state.counted < this.options.maxAttempts) await this.recordAttempts(topic, partition, first, state.counted);
      }
      if (state.counted >= this.options.maxAttempts) {
        // If the dead-letter topic cannot be written either, this throws: nothing is committed.
        await this.setAsideMessage(topic, partition, chunk[0], new RetryBudgetExceededError(state.attempt, err), 'RETRY_BUDGET_EXCEEDED', state.attempt, state.firstFailure, eventType, items[0]?.event);
        await this.completed(topic, partition, chunk, key, generation);
        return true;
      }
      const held = isHeldByOperator(error);
      let since = state.firstFailure;
      if (held) {
        // A hold lasts as long as the operator wants: no outage budget runs, and none is left over for after it.
        await this.clearStall(topic, partition, first);
      } else {
        if (dependencyDown) since = await this.outageStart(topic, partition, first, state.firstFailure, redactPersonalData(err.message, personal()));
        this.stalled.set(`${topic}|${partition}`, { offset: first, since });
      }
      const outageBudgetMs = this.options.outageBudgetMs ?? DEFAULT_OUTAGE_BUDGET_MS;
      if (dependencyDown && !held && Date.now() - since.getTime() >= outageBudgetMs) {
        // Waited for long enough: this message goes aside so the partition moves on (the next one gets a budget of its own).
        await this.setAsideMessage(topic, partition, chunk[0], new OutageBudgetExceededError(outageBudgetMs / 1000, err), 'OUTAGE_BUDGET_EXCEEDED', state.attempt, since, eventType, items[0]?.event);
        outageDeadLettered.inc({ group: this.options.group });
        await this.completed(topic, partition, chunk, key, generation);
        return true;
      }
      if (dependencyDown) waiting.inc({ group: this.options.group });
      this.retries.set(key, state);
      const delay = this.backoff(state.attempt);
      const budget = held ? 'held by an operator, not counted'
        : dependencyDown ? `dependency unavailable for ${Math.floor((Date.now() - since.getTime()) / 1000)}/${outageBudgetMs / 1000} s, not counted`
          : `${state.counted}/${this.options.maxAttempts}`;
      this.logger.warn(`${eventType} at ${topic}[${partition}]@${first}${chunk.length > 1 ? `..${last}` : ''} failed (attempt ${state.attempt}, ${budget}), retrying in ${delay} ms: ${redactPersonalData(err.message, personal())}`);
      this.retryLater(topic, partition, first, delay, pause);
      return false;
    } finally {
      endTimer();
    }
  }

  /**
   * kafkajs heartbeats only when asked: a batch that takes longer than the session timeout (LMS
   * calls, a Retry-After) would lose its partitions mid-batch, and a new owner could apply a
   * learner's later change before this one's earlier change reaches the LMS.
   */
  private async withHeartbeats<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => void heartbeat().catch(() => undefined), this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  /** The backoff grows with every attempt, counted or not, up to its cap. */
  private backoff(attempt: number): number {
    return Math.min(this.options.backoffMaxMs, (this.options.backoffInitialMs ?? 200) * 2 ** Math.min(attempt - 1, 20));
  }

  private async completed(topic: string, partition: number, chunk: Message[], retryKey: string, generation: number): Promise<void> {
    const tp = `${topic}|${partition}`;
    const last = chunk[chunk.length - 1].offset;
    this.retries.delete(retryKey);
    for (const m of chunk) this.setAside.delete(`${tp}|${m.offset}`);
    const single = this.singleUntil.get(tp);
    if (single !== undefined && BigInt(last) >= single) this.singleUntil.delete(tp);
    this.done(topic, partition, last, generation);
    await this.clearStall(topic, partition, last);
    await this.clearAttempts(topic, partition, last);
  }

  /** The partition's ConsumerAttempts row, read once per assignment; undefined when there is none or the database cannot answer. */
  private async attemptRow(topic: string, partition: number): Promise<DeliveryAttempts | undefined> {
    const tp = `${topic}|${partition}`;
    if (!this.attemptRows.has(tp)) {
      try {
        this.attemptRows.set(tp, (await this.options.attempts!.get(this.groupId, topic, partition)) ?? null);
      } catch (e) {
        this.logger.warn(`reading the attempts of ${topic}[${partition}] failed: ${(e as Error).message}`);
      }
    }
    return this.attemptRows.get(tp) ?? undefined;
  }

  /**
   * Counts this delivery in ConsumerAttempts before it is handled, when the partition is being
   * retried or has not committed since its assignment (a process killed mid-batch committed nothing,
   * and its successor must not deliver the message forever). Answers the row when it names `first`.
   */
  private async beginDelivery(topic: string, partition: number, chunk: Message[], key: string): Promise<DeliveryAttempts | undefined> {
    const tp = `${topic}|${partition}`;
    if (!this.options.attempts || (this.committed.has(tp) && !this.singleUntil.has(tp) && !this.retries.has(key))) return undefined;
    const first = chunk[0].offset;
    try {
      const row = await this.options.attempts.begin(this.groupId, topic, partition, first, chunk[chunk.length - 1].offset);
      this.attemptRows.set(tp, row);
      return row.offset === first ? row : undefined;
    } catch (e) {
      this.logger.warn(`counting the delivery of ${topic}[${partition}]@${first} failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** A begun delivery that must not count (a batch's, a wait for a dependency, a stop): given back. */
  private async giveBackDelivery(topic: string, partition: number, offset: string, begun: DeliveryAttempts | undefined): Promise<void> {
    if (begun) await this.recordAttempts(topic, partition, offset, begun.attempts - 1);
  }

  private async recordAttempts(topic: string, partition: number, offset: string, attempts: number): Promise<void> {
    if (!this.options.attempts) return;
    try {
      await this.options.attempts.set(this.groupId, topic, partition, offset, attempts);
      const row = this.attemptRows.get(`${topic}|${partition}`);
      if (!row || BigInt(row.offset) < BigInt(offset)) this.attemptRows.set(`${topic}|${partition}`, { offset, lastOffset: offset, attempts });
      else if (row.offset === offset) row.attempts = attempts;
    } catch (e) {
      this.logger.warn(`recording the attempts of ${topic}[${partition}]@${offset} failed: ${(e as Error).message}`);
    }
  }

  /** The partition is past `offset`: its attempts row, if this member knows of one (or does not know), goes. */
  private async clearAttempts(topic: string, partition: number, offset: string): Promise<void> {
    const tp = `${topic}|${partition}`;
    if (!this.options.attempts) return;
    const row = this.attemptRows.get(tp);
    if (row === null || (row && BigInt(row.offset) > BigInt(offset))) return;
    // One attempt even if it fails, as for stalls: a row left behind names a message already past, and is replaced.
    this.attemptRows.set(tp, null);
    try {
      await this.options.attempts.cleared(this.groupId, topic, partition, offset);
    } catch (e) {
      this.logger.warn(`clearing the attempts of ${topic}[${partition}] failed: ${(e as Error).message}`);
    }
  }

  /**
   * When the message first failed for an unavailable dependency: the stall row's time, which a
   * previous owner of the partition may have written; `fallback` (this member's) if the database
   * cannot answer, or is the earlier.
   */
  private async outageStart(topic: string, partition: number, offset: string, fallback: Date, error: string): Promise<Date> {
    if (!this.options.stalls) return fallback;
    try {
      const since = await this.options.stalls.failed(this.groupId, topic, partition, offset, error, fallback);
      this.unstalled.delete(`${topic}|${partition}`);
      return since < fallback ? since : fallback;
    } catch (e) {
      this.logger.warn(`recording the stall of ${topic}[${partition}]@${offset} failed: ${(e as Error).message}`);
      return fallback;
    }
  }

  /** The partition is past `offset` (or held): its stall, if any, ends; the stall row goes, one delete per partition and stall. */
  private async clearStall(topic: string, partition: number, offset: string): Promise<void> {
    const tp = `${topic}|${partition}`;
    const stall = this.stalled.get(tp);
    if (stall && BigInt(stall.offset) <= BigInt(offset)) this.stalled.delete(tp);
    if (!this.options.stalls || this.unstalled.has(tp)) return;
    // One attempt even if it fails: a database that is down must not slow every batch. A row left
    // behind names a message already past, and the partition's next stall replaces it.
    this.unstalled.add(tp);
    try {
      await this.options.stalls.cleared(this.groupId, topic, partition, offset);
    } catch (e) {
      this.logger.warn(`clearing the stall of ${topic}[${partition}] failed: ${(e as Error).message}`);
    }
  }

  private async setAsideMessage(
    topic: string, partition: number, message: Message, error: Error, reason: string, attempts: number, firstFailure: Date, eventType: string, event?: DecodedEvent,
  ): Promise<void> {
    await this.deadLetter({ topic, partition, message }, error, reason, attempts, firstFailure, event ? personalValues(event.data) : undefined);
    this.setAside.add(`${topic}|${partition}|${message.offset}`);
    handled.inc({ group: this.options.group, event_type: eventType, outcome: 'dead_lettered' });
  }

  /** Holds just this partition: paused, rewound to the message, resumed after the delay. */
  private retryLater(topic: string, partition: number, offset: string, delayMs: number, pause: EachBatchPayload['pause']): void {
    const resume = pause();
    this.consumer.seek({ topic, partition, offset });
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.stopping) resume();
    }, delayMs);
    this.resumeTimers.add(timer);
  }

  private async deadLetter(
    source: { topic: string; partition: number; message: Message }, error: Error, reason: string, attempts: number, firstFailureTime: Date, personal?: Set<string>,
  ): Promise<void> {
    const { topic, partition, message } = source;
    const original: Record<string, Buffer | string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value !== undefined) original[name] = Array.isArray(value) ? value[0] : value;
    }
    const headers = {
      ...original,
      ...deadLetterHeaders({ error, reason, topic, partition, offset: message.offset, attempts, firstFailureTime, consumerGroup: this.options.group, personal }),
    };
    // If the dead-letter topic cannot be written either, this throws: the offset is not committed.
    await this.producer.send([{ topic: this.deadLetterTopic, key: message.key ?? null, value: message.value ?? null, headers }]);
    deadLettered.inc({ group: this.options.group, reason });
    this.logger.warn(`dead-lettered ${topic}[${partition}]@${message.offset}: ${reason}: ${redactPersonalData(error.message, personal)}`);
  }
}
