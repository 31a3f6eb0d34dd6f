import { Logger } from '@nestjs/common';
import { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import {
  ConsumerGroup,
  deadLetterTopic,
  DecodedEvent,
  EventCodec,
  EventCodecError,
  fullTopicName,
  Header,
  isEventType,
  retryTopic,
  Topic,
} from '@groups-sync/contracts';
import { personalValues, redactPersonalData } from '@groups-sync/observability';
import { headerText } from '../kafka/header-text';
import { MessageProducer } from '../kafka/message-producer';
import { AttemptStore, AttemptTracker } from './attempt-tracker';
import { BatchHandler, EventHandlers, perMessage } from './batch-handler';
import { OutageBudgetExceededError, PoisonMessageError, RetryBudgetExceededError } from './consumer.errors';
import {
  dependencyWaits,
  handleDuration,
  handledMessages,
  outageDeadLetters,
  runningConsumers,
} from './consumer-metrics';
import { ConsumerStalls } from './consumer-stalls';
import { DeadLetterer } from './dead-letterer';
import { nextChunk } from './message-chunks';
import { OffsetCommits } from './offset-commits';
import { MessageMap, PartitionMap, PartitionRef } from './partition-map';
import { RetryPolicy } from './retry-policy';
import { StallTracker } from './stall-tracker';

export type { BatchHandler, EventHandler, EventHandlers, HandlerContext } from './batch-handler';

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
  attempts?: AttemptStore;
  backoffInitialMs?: number;
  backoffMaxMs: number;
  partitionsConsumedConcurrently?: number;
  /** Bounds of one handler call. */
  maxBatchMessages?: number;
  maxBatchBytes?: number;
  /** KAFKA_FETCH_MAX_WAIT_MS: how long the broker holds an idle fetch (20 ms by default: latency over idle CPU). */
  fetchMaxWaitMs?: number;
  /** KAFKA_SESSION_TIMEOUT_MS: how long a dead member keeps its partitions (6 s by default). */
  sessionTimeoutMs?: number;
  /** KAFKA_HEARTBEAT_INTERVAL_MS: also how often a running batch heartbeats (1 s by default). */
  heartbeatIntervalMs?: number;
}

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
/** How long a consumer kafkajs gave up on waits before it starts again, and again while that fails. */
export const CRASH_RESTART_DELAY_MS = 5000;

/** A message being retried: its deliveries, those counted against its budget, and its first failure. */
interface RetryState {
  attempt: number;
  counted: number;
  firstFailure?: Date;
}

type Message = EachBatchPayload['batch']['messages'][number];
type Decoded = { message: Message; event: DecodedEvent };

/**
 * Consumes a set of topics for one consumer group, a partition batch at a time.
 * - The handler gets the decoded events of a batch (bounded by count and bytes) in order; types it
 *   does not take (topics carry several) and events its filter refuses are skipped first.
 * - Offsets are committed by this runner (OffsetCommits), only for messages handled, skipped or dead-lettered.
 * - A failing batch is retried with exponential backoff by pausing its partition and rewinding it:
 *   the partition waits, in order, while the instance's other partitions go on. The failed range is
 *   retried message by message, so attempts, the retry budget and a dead letter fall on the message
 *   at fault (RetryPolicy decides; AttemptTracker keeps the attempts across restarts). A dependency
 *   that is down is waited for without spending budget, up to the outage budget counted from the
 *   message's first failure (StallTracker); an operator's hold is waited for as long as it lasts.
 * - Poison messages (undecodable, unknown type, invalid data) and messages over their retry budget
 *   go to the group's dead-letter topic (DeadLetterer) with the reason in headers, alone: the rest
 *   of their batch still applies, in order.
 * The group also reads its own retry topic, where operators replay dead letters.
 */
export class EventConsumer {
  private readonly logger: Logger;
  private readonly consumer: Consumer;
  private started = false;
  private stopping = false;
  private joined = false;
  private crashed?: string;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private commitTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  /** Counts assignments (GROUP_JOIN): offsets and retries of an earlier one may name partitions another member holds now. */
  private generation = 0;
  /** Messages being retried. */
  private readonly retries = new MessageMap<RetryState>();
  /** After a failed batch, the partition goes message by message up to this offset. */
  private readonly singleUntil = new PartitionMap<bigint>();
  /** Messages dead-lettered from a batch that has not completed yet. */
  private readonly setAside = new MessageMap<true>();
  private readonly groupId: string;
  private readonly handler: BatchHandler;
  private readonly policy: RetryPolicy;
  private readonly commits: OffsetCommits;
  private readonly stalls: StallTracker;
  private readonly attempts: AttemptTracker;
  private readonly deadLetterer: DeadLetterer;

  constructor(
    kafka: Kafka,
    private readonly codec: EventCodec,
    producer: MessageProducer,
    private readonly options: EventConsumerOptions,
  ) {
    this.logger = new Logger(`consumer:${options.group}`);
    if (!options.batch === !options.handlers) throw new Error('a consumer takes either handlers or a batch handler');
    this.handler = options.batch ?? perMessage(options.handlers!);
    this.groupId = fullTopicName(options.group, options.topicPrefix);
    this.policy = new RetryPolicy(options);
    this.stalls = new StallTracker(this.groupId, options.stalls, this.logger);
    this.attempts = new AttemptTracker(this.groupId, options.attempts, this.logger);
    this.deadLetterer = new DeadLetterer(producer, options.group, this.deadLetterTopic, this.logger);
    this.consumer = kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      heartbeatInterval: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      allowAutoTopicCreation: false,
      // A short long-poll by default: kafkajs often held a fetch for its whole wait although data
      // had come (KAFKA_FETCH_MAX_WAIT_MS), and a resumed partition joins the next fetch sooner.
      maxWaitTimeInMs: options.fetchMaxWaitMs ?? 20,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.commits = new OffsetCommits(
      (offsets) => this.consumer.commitOffsets(offsets),
      () => this.generation,
      this.logger,
    );
    const { GROUP_JOIN, CRASH, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, () => {
      this.joined = true;
      this.crashed = undefined;
      this.generation++;
      // A new assignment: offsets held for partitions this member may have lost are stale, and
      // the partitions it has start from their committed offsets; stalls and attempts are read again.
      this.commits.clear();
      this.retries.clear();
      this.singleUntil.clear();
      this.stalls.reset();
      this.attempts.reset();
      // setAside stays: it is keyed by offset, so a message dead-lettered before the rebalance is
      // not dead-lettered again when this member still owns its partition.
    });
    this.consumer.on(DISCONNECT, () => {
      this.joined = false;
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      this.crashed = e.payload.error.message;
      this.logger.error(`consumer crashed: ${e.payload.error.message} (restart: ${e.payload.restart})`);
      // kafkajs restarts a consumer only after errors it deems retriable. It gives up on others for
      // good, such as "Failed to find group coordinator" when the only broker went away during a
      // rebalance: the consumer stayed down until the process restarted.
      if (!e.payload.restart) this.restartAfterCrash();
    });
  }

  private restartAfterCrash(): void {
    if (this.stopping || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      // kafkajs disconnected the consumer before it reported the crash; it starts as at first.
      clearInterval(this.commitTimer);
      this.started = false;
      this.start().then(
        () => this.logger.warn('consumer started again after its crash'),
        (error: Error) => {
          this.logger.error(
            `starting the consumer again failed: ${error.message}; next try in ${CRASH_RESTART_DELAY_MS} ms`,
          );
          this.restartAfterCrash();
        },
      );
    }, CRASH_RESTART_DELAY_MS);
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
    return {
      group: this.options.group,
      joined: this.joined,
      crashed: this.crashed,
      stalledSeconds: this.stalledSeconds(),
    };
  }

  /** How long the longest-stuck of this member's partitions has been failing on one message (0: none). */
  stalledSeconds(): number {
    return this.stalls.stalledSeconds();
  }

  /** Connects and joins the group; throws if the broker does not answer, and may then be called again. */
  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    runningConsumers.add(this);
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    } catch (error) {
      this.started = false;
      runningConsumers.delete(this);
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
    runningConsumers.delete(this);
    clearTimeout(this.restartTimer);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    clearInterval(this.commitTimer);
    await this.commit();
    await this.consumer.disconnect();
  }

  private async commit(): Promise<void> {
    // Until its first commit after an assignment, a partition's deliveries are counted (AttemptTracker).
    for (const at of await this.commits.commit()) this.attempts.markCommitted(at);
  }

  private done(topic: string, partition: number, offset: string, generation = this.generation): void {
    this.commits.done({ topic, partition }, offset, generation);
  }

  private async handleBatch({
    batch,
    heartbeat,
    pause,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    const at = { topic, partition };
    const limits = {
      maxMessages: this.options.maxBatchMessages ?? 500,
      maxBytes: this.options.maxBatchBytes ?? 1024 * 1024,
    };
    const generation = this.generation;
    if (messages.length) {
      // A delivery of one of these messages did not end (the process was killed mid-batch) or
      // failed: its run goes message by message, so attempts fall on the one at fault.
      const until = await this.attempts.unfinishedRun(at, messages[0].offset, messages[messages.length - 1].offset);
      if (until !== undefined && until > (this.singleUntil.get(at) ?? -1n)) this.singleUntil.set(at, until);
    }
    for (let i = 0; i < messages.length;) {
      if (!isRunning() || isStale() || this.stopping || generation !== this.generation) return;
      const chunk = nextChunk(messages, i, limits, this.singleUntil.get(at));
      i += chunk.length;
      // Decoding (the registry), the handler and dead letters all heartbeat: a chunk may outlast the session.
      if (
        !(await this.withHeartbeats(heartbeat, () =>
          this.handleChunk(topic, partition, chunk, heartbeat, pause, generation),
        ))
      )
        return;
      // Where the next fetch starts (commits are ours, above).
      resolveOffset(chunk[chunk.length - 1].offset);
      await heartbeat();
    }
  }

  /** Handles a run of messages of one partition; false when the partition was paused for a retry. */
  private async handleChunk(
    topic: string,
    partition: number,
    chunk: Message[],
    heartbeat: () => Promise<void>,
    pause: EachBatchPayload['pause'],
    generation = this.generation,
  ): Promise<boolean> {
    const at = { topic, partition };
    const first = chunk[0].offset;
    const last = chunk[chunk.length - 1].offset;
    const state = this.retries.get(at, first) ?? { attempt: 0, counted: 0 };
    state.attempt++;
    const endTimer = handleDuration.startTimer({ group: this.options.group });
    const items: Decoded[] = [];
    // Counted before handling, so that a delivery the process does not survive counts too.
    const begun = await this.attempts.begin(at, first, last, this.singleUntil.has(at) || this.retries.has(at, first));
    const givenBack = () => this.attempts.giveBack(at, first, begun);
    if (begun && chunk.length === 1) state.counted = begun.attempts - 1;
    if (begun && chunk.length === 1 && this.policy.exhausted(state.counted)) {
      const declared = chunk[0].headers?.[Header.Type]?.toString() ?? 'unknown';
      const lastError = new Error(
        `${state.counted} deliveries failed or did not finish (the process handling it stopped)`,
      );
      await this.setAsideMessage(
        at,
        chunk[0],
        new RetryBudgetExceededError(state.counted, lastError),
        'RETRY_BUDGET_EXCEEDED',
        state.counted,
        state.firstFailure ?? new Date(),
        declared,
      );
      await this.completed(at, chunk, generation);
      endTimer();
      return true;
    }
    try {
      await this.decode(at, chunk, items);
      let remaining = items;
      while (remaining.length) {
        try {
          await this.handler.handle(
            remaining.map((x) => x.event),
            { topic, replayed: topic.endsWith('.retry'), partition, offset: first, attempt: state.attempt, heartbeat },
          );
          break;
        } catch (error) {
          const culprit =
            error instanceof PoisonMessageError
              ? (remaining.find((x) => x.event === error.event) ?? (remaining.length === 1 ? remaining[0] : undefined))
              : undefined;
          if (!culprit) throw error;
          const poison = error as PoisonMessageError;
          await this.setAsideMessage(
            at,
            culprit.message,
            poison,
            poison.reason,
            state.attempt,
            state.firstFailure ?? new Date(),
            culprit.event.type,
            culprit.event,
          );
          remaining = remaining.filter((x) => x !== culprit);
        }
      }
      for (const x of remaining)
        handledMessages.inc({ group: this.options.group, event_type: x.event.type, outcome: 'handled' });
      await this.completed(at, chunk, generation);
      return true;
    } catch (error) {
      state.firstFailure ??= new Date();
      if (this.stopping || generation !== this.generation) {
        // Left uncommitted: redelivered after the restart, or from the committed offset to whoever holds the partition now.
        await givenBack();
        return false;
      }
      return await this.failed(at, chunk, items, state, error, begun !== undefined, givenBack, pause, generation);
    } finally {
      endTimer();
    }
  }

  /**
   * The chunk's messages this group handles, decoded into `items`; skipped types and filtered
   * events are counted, undecodable messages set aside. Throws when the registry cannot answer (retried).
   */
  private async decode(at: PartitionRef, chunk: Message[], items: Decoded[]): Promise<void> {
    for (const message of chunk) {
      if (this.setAside.has(at, message.offset)) continue;
      // A known type this group does not handle is skipped on its ce_type header, undecoded: a
      // topic shared by many event types (the lifecycle topic) costs its other readers nothing.
      const declared = message.headers?.[Header.Type]?.toString();
      if (declared && isEventType(declared) && !this.handler.types.includes(declared)) {
        handledMessages.inc({ group: this.options.group, event_type: declared, outcome: 'skipped' });
        continue;
      }
      let event: DecodedEvent;
      try {
        event = await this.codec.decode(message.value, eventHeaders(message.headers), message.key);
      } catch (error) {
        const reason =
          error instanceof EventCodecError
            ? error.code
            : error instanceof PoisonMessageError
              ? error.reason
              : undefined;
        if (!reason) throw error; // the registry is down: retry the batch
        await this.setAsideMessage(at, message, error as Error, reason, 1, new Date(), 'unknown');
        continue;
      }
      if (!this.handler.types.includes(event.type) || (this.handler.filter && !this.handler.filter(event))) {
        handledMessages.inc({ group: this.options.group, event_type: event.type, outcome: 'skipped' });
        continue;
      }
      items.push({ message, event });
    }
  }

  /**
   * A failed delivery: a batch is retried message by message; a message is retried after a backoff,
   * or dead-lettered once its retry budget (or, for an outage, its outage budget) is spent.
   * Answers true when the partition moves on (the message went aside).
   */
  private async failed(
    at: PartitionRef,
    chunk: Message[],
    items: Decoded[],
    state: RetryState,
    error: unknown,
    begun: boolean,
    givenBack: () => Promise<void>,
    pause: EachBatchPayload['pause'],
    generation: number,
  ): Promise<boolean> {
    const { topic, partition } = at;
    const first = chunk[0].offset;
    const last = chunk[chunk.length - 1].offset;
    const firstFailure = state.firstFailure!;
    const err = error instanceof Error ? error : new Error(String(error));
    const dependencyDown = !this.policy.counts(error);
    const eventType = items[0]?.event.type ?? 'unknown';
    const personal = () => items.reduce((found, x) => personalValues(x.event.data, found), new Set<string>());
    if (chunk.length > 1) {
      // Retried message by message over this range, so that attempts, budgets and a dead letter
      // fall on the message at fault; this delivery counts against nobody's budget.
      this.singleUntil.set(at, BigInt(last));
      this.retries.set(at, first, state);
      await givenBack();
      const delay = this.policy.backoff(state.attempt);
      this.logger.warn(
        `batch ${topic}[${partition}]@${first}..${last} failed, retrying message by message in ${delay} ms: ${redactPersonalData(err.message, personal())}`,
      );
      if (dependencyDown) dependencyWaits.inc({ group: this.options.group });
      this.retryLater(at, first, delay, pause);
      return false;
    }
    if (dependencyDown) await givenBack();
    else {
      state.counted++;
      // Begun deliveries are counted already; a first failure outside them is written now, for a restart to find.
      if (!begun && !this.policy.exhausted(state.counted)) await this.attempts.record(at, first, state.counted);
    }
    if (this.policy.exhausted(state.counted)) {
      // If the dead-letter topic cannot be written either, this throws: nothing is committed.
      await this.setAsideMessage(
        at,
        chunk[0],
        new RetryBudgetExceededError(state.attempt, err),
        'RETRY_BUDGET_EXCEEDED',
        state.attempt,
        firstFailure,
        eventType,
        items[0]?.event,
      );
      await this.completed(at, chunk, generation);
      return true;
    }
    const held = this.policy.held(error);
    let since = firstFailure;
    if (held) {
      // A hold lasts as long as the operator wants: no outage budget runs, and none is left over for after it.
      await this.stalls.clear(at, first);
    } else {
      if (dependencyDown)
        since = await this.stalls.outageStart(at, first, firstFailure, redactPersonalData(err.message, personal()));
      this.stalls.stuck(at, first, since);
    }
    const outageBudgetMs = this.policy.outageBudgetMs;
    if (this.policy.outageOver(error, since)) {
      // Waited for long enough: this message goes aside so the partition moves on (the next one gets a budget of its own).
      await this.setAsideMessage(
        at,
        chunk[0],
        new OutageBudgetExceededError(outageBudgetMs / 1000, err),
        'OUTAGE_BUDGET_EXCEEDED',
        state.attempt,
        since,
        eventType,
        items[0]?.event,
      );
      outageDeadLetters.inc({ group: this.options.group });
      await this.completed(at, chunk, generation);
      return true;
    }
    if (dependencyDown) dependencyWaits.inc({ group: this.options.group });
    this.retries.set(at, first, state);
    const delay = this.policy.backoff(state.attempt);
    const budget = held
      ? 'held by an operator, not counted'
      : dependencyDown
        ? `dependency unavailable for ${Math.floor((Date.now() - since.getTime()) / 1000)}/${outageBudgetMs / 1000} s, not counted`
        : `${state.counted}/${this.policy.maxAttempts}`;
    this.logger.warn(
      `${eventType} at ${topic}[${partition}]@${first}${chunk.length > 1 ? `..${last}` : ''} failed (attempt ${state.attempt}, ${budget}), retrying in ${delay} ms: ${redactPersonalData(err.message, personal())}`,
    );
    this.retryLater(at, first, delay, pause);
    return false;
  }

  /**
   * kafkajs heartbeats only when asked: a batch that takes longer than the session timeout (LMS
   * calls, a Retry-After) would lose its partitions mid-batch, and a new owner could apply a
   * learner's later change before this one's earlier change reaches the LMS.
   */
  private async withHeartbeats<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(
      () => void heartbeat().catch(() => undefined),
      this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    );
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async completed(at: PartitionRef, chunk: Message[], generation: number): Promise<void> {
    const last = chunk[chunk.length - 1].offset;
    this.retries.delete(at, chunk[0].offset);
    for (const m of chunk) this.setAside.delete(at, m.offset);
    const single = this.singleUntil.get(at);
    if (single !== undefined && BigInt(last) >= single) this.singleUntil.delete(at);
    this.done(at.topic, at.partition, last, generation);
    await this.stalls.clear(at, last);
    await this.attempts.clear(at, last);
  }

  private async setAsideMessage(
    at: PartitionRef,
    message: Message,
    error: Error,
    reason: string,
    attempts: number,
    firstFailure: Date,
    eventType: string,
    event?: DecodedEvent,
  ): Promise<void> {
    await this.deadLetterer.send(at, message, {
      error,
      reason,
      attempts,
      firstFailure,
      personal: event ? personalValues(event.data) : undefined,
    });
    this.setAside.set(at, message.offset, true);
    handledMessages.inc({ group: this.options.group, event_type: eventType, outcome: 'dead_lettered' });
  }

  /** Holds just this partition: paused, rewound to the message, resumed after the delay. */
  private retryLater(at: PartitionRef, offset: string, delayMs: number, pause: EachBatchPayload['pause']): void {
    const resume = pause();
    this.consumer.seek({ topic: at.topic, partition: at.partition, offset });
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.stopping) resume();
    }, delayMs);
    this.resumeTimers.add(timer);
  }
}
