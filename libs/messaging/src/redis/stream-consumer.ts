import { DeadLetterer } from '../consumer/dead-letterer';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter } from 'prom-client';
import {
  buildHeaders,
  DecodedEvent,
  EventCodec,
  EventCodecError,
  Header,
  parseStreamEntry,
  SCHEMALESS,
  StreamEntryError,
  StreamField,
} from '@groups-sync/contracts';
import { metric, personalValues, redactPersonalData } from '@groups-sync/observability';
import type { BatchHandler } from '../consumer/event-consumer';
import { OutageBudgetExceededError, PoisonMessageError, RetryBudgetExceededError } from '../consumer/consumer.errors';
import { RetryPolicy } from '../consumer/retry-policy';
import { MessageProducer } from '../kafka/message-producer';
import { compareStreamIds, connectRedis, infoReply } from './redis-connection';
import { StreamLease } from './stream-lease';

/** Entries lost to trimming (or a deleted stream) before this group read them. */
export interface StreamGap {
  group: string;
  stream: string;
  reason: 'trimmed' | 'stream_recreated' | 'pending_entry_trimmed';
  /** The group's position before the gap, and the newest entry known lost. */
  lastDeliveredId: string;
  lostUpToId: string | null;
  /** How many entries were lost, when Redis counts them. */
  lost?: number;
  at: string;
}

export interface StreamConsumerOptions {
  /** Logical consumer group (also the dead-letter and retry topics' name). */
  group: string;
  /** The Redis consumer group's name (the group with the topic prefix, as on Kafka). */
  groupName: string;
  streams: string[];
  handler: BatchHandler;
  instanceId: string;
  deadLetterTopic: string;
  maxAttempts: number;
  backoffMaxMs: number;
  backoffInitialMs?: number;
  outageBudgetMs?: number;
  /** One reader per stream and group at a time; a dead reader's stream is taken over once this lapses. */
  leaseMs?: number;
  maxBatch?: number;
  /** Where gaps are kept for operators (a Redis hash shared by every instance). */
  gapsKey: string;
  onGap?: (gap: StreamGap) => Promise<void>;
}

const handled = metric(
  'stream_entries_total',
  () =>
    new Counter({
      name: 'stream_entries_total',
      help: 'Redis stream entries consumed, by outcome',
      labelNames: ['group', 'stream', 'outcome'],
    }),
);
const gaps = metric(
  'stream_gaps_total',
  () =>
    new Counter({
      name: 'stream_gaps_total',
      help: 'Entries of a Redis stream trimmed (or the stream deleted) before the group read them',
      labelNames: ['group', 'stream', 'reason'],
    }),
);

type Entry = { id: string; fields: Map<string, Buffer> | null };
interface Retry {
  firstId: string;
  attempt: number;
  counted: number;
  firstFailure: Date;
}

export const DEFAULT_STREAM_LEASE_MS = 6000;
const BLOCK_MS = 1000;

/**
 * Reads LMS events from Redis streams for one consumer group, at least once (event-bus-redis's own
 * consumer acknowledges in `finally`, at most once):
 * - one instance reads a stream at a time (StreamLease), so entries are handled in stream order; the
 *   one that takes over claims the pending entries of the one before and handles them first;
 * - an entry is acknowledged (XACK) only after the handler returned, i.e. its effects and inbox row
 *   committed; the inbox drops a redelivered event by its `id`;
 * - a failing batch is read again from the reader's own pending entries after a backoff, message by
 *   message over its range; poison entries and entries over their budget go to the group's Kafka
 *   dead-letter topic as they came (the event data schemaless, marked `value_framing: schemaless`),
 *   so `ugsync dlq` lists and replays them like any other;
 * - entries trimmed before they were read are reported (metric, log, operators' status) and handed
 *   to `onGap`, which reconciles.
 */
export class StreamConsumer {
  private readonly logger: Logger;
  private readonly readers: StreamReader[];
  private readonly control: Redis;
  /** The Kafka runner's retry rules: the same budgets and backoff. */
  readonly policy: RetryPolicy;

  constructor(
    url: string,
    readonly codec: EventCodec,
    readonly producer: MessageProducer,
    readonly options: StreamConsumerOptions,
  ) {
    this.policy = new RetryPolicy(options);
    this.logger = new Logger(`stream-consumer:${options.group}`);
    this.control = connectRedis(url, `${options.groupName}:${options.instanceId}:control`);
    this.readers = options.streams.map(
      (stream) =>
        new StreamReader(
          this,
          connectRedis(url, `${options.groupName}:${options.instanceId}:${stream}`, {
            commandTimeoutMs: BLOCK_MS + 5000,
          }),
          this.control,
          stream,
          this.logger,
        ),
    );
  }

  get group(): string {
    return this.options.group;
  }

  /** Starts the readers whether Redis answers yet or not: their loops retry, and ioredis reconnects by itself. */
  async start(): Promise<void> {
    if (this.control.status === 'wait')
      await this.control.connect().catch((e: Error) => this.logger.warn(`Redis is not reachable yet: ${e.message}`));
    for (const reader of this.readers) reader.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.stop()));
    this.control.disconnect();
  }

  status(): { group: string; streams: Record<string, { reading: boolean; error?: string }> } {
    return { group: this.options.group, streams: Object.fromEntries(this.readers.map((r) => [r.stream, r.status()])) };
  }

  async reportGap(gap: StreamGap): Promise<void> {
    gaps.inc({ group: gap.group, stream: gap.stream, reason: gap.reason });
    this.logger.error(
      `${gap.lost ?? 'some'} entries of stream ${gap.stream} were lost before group ${gap.group} read them (${gap.reason}, after ${gap.lastDeliveredId}): reconciling`,
    );
    await this.control
      .hset(this.options.gapsKey, `${gap.group}|${gap.stream}`, JSON.stringify(gap))
      .catch(() => undefined);
    await this.options.onGap?.(gap);
  }
}

class StreamReader {
  private stopping = false;
  private loop?: Promise<void>;
  private lease: StreamLease;
  /** Read the reader's own pending entries (after a takeover or a failure) before new ones. */
  private pendingFirst = true;
  /** After a failed batch, entries up to this id are handled one at a time. */
  private singleUntil?: string;
  private retry?: Retry;
  private error?: string;
  private readonly wake = new AbortController();

  /** Acknowledgements and gap checks go on the group's control connection: this one may be blocked in a prefetching read. */
  constructor(
    private readonly owner: StreamConsumer,
    private readonly redis: Redis,
    private readonly control: Redis,
    readonly stream: string,
    private readonly logger: Logger,
  ) {
    const { groupName, instanceId, leaseMs } = owner.options;
    this.lease = new StreamLease(
      control,
      `${groupName}:lease:${stream}`,
      `${instanceId}:${randomUUID()}`,
      leaseMs ?? DEFAULT_STREAM_LEASE_MS,
    );
  }

  private get consumerName(): string {
    return this.owner.options.instanceId;
  }

  status(): { reading: boolean; error?: string } {
    return { reading: this.lease.valid, error: this.error };
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.loop;
    await this.lease.release();
    this.redis.disconnect();
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let prefetched: Promise<Entry[]> | undefined;
    const drop = async () => {
      // Its entries stay pending with this reader: read again from the pending list, or claimed by the next reader.
      await prefetched?.catch(() => undefined);
      prefetched = undefined;
    };
    while (!this.stopping) {
      try {
        if (this.redis.status === 'wait') await this.redis.connect();
        if (!this.lease.valid) {
          await drop();
          if (!(await this.lease.acquire())) {
            await this.pause(this.lease.ttlMs / 3);
            continue;
          }
          await this.takeOver();
        }
        const entries = prefetched ? await this.topUp(await prefetched) : await this.checkedRead();
        prefetched = undefined;
        if (entries.length && !this.stopping) {
          // The next batch is fetched while this one is handled, as Kafka's fetcher does. When this one
          // fails, the reader goes back to its pending entries, which hold both batches in order.
          const next = this.pendingFirst || this.singleUntil ? undefined : this.checkedRead();
          next?.catch(() => undefined);
          prefetched = next;
          await this.handle(entries);
          if (this.pendingFirst || this.singleUntil) await drop();
        }
        failures = 0;
        this.error = undefined;
      } catch (error) {
        // Whatever was read and not acknowledged is read again, in order, from this reader's pending list.
        this.pendingFirst = true;
        await drop();
        if (this.stopping) break;
        const message = (error as Error).message ?? String(error);
        if (/NOGROUP/.test(message)) {
          await this.recreated().catch(async () => this.pause(1000));
          continue;
        }
        this.error = message;
        failures++;
        if (failures === 1 || failures % 30 === 0)
          this.logger.warn(`reading stream ${this.stream} failed, retrying: ${message}`);
        await this.pause(Math.min(5000, 200 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /** This instance now reads the stream: the group exists, and every entry pending with another reader is this one's. */
  private async takeOver(): Promise<void> {
    const { groupName } = this.owner.options;
    await this.ensureGroup();
    let cursor = '0-0';
    do {
      const reply = (await this.redis.xautoclaim(
        this.stream,
        groupName,
        this.consumerName,
        0,
        cursor,
        'COUNT',
        500,
        'JUSTID',
      )) as [string, unknown[], string[]?];
      cursor = reply[0];
      // Entries a dead reader held that were trimmed meanwhile: Redis drops them from the pending list and names them here.
      for (const id of reply[2] ?? []) {
        await this.owner.reportGap({
          group: this.owner.group,
          stream: this.stream,
          reason: 'pending_entry_trimmed',
          lastDeliveredId: id,
          lostUpToId: id,
          at: new Date().toISOString(),
        });
      }
    } while (cursor !== '0-0' && !this.stopping);
    // Readers of earlier processes that hold nothing any more.
    const consumers = ((await this.redis.xinfo('CONSUMERS', this.stream, groupName)) as unknown[]).map(infoReply);
    for (const c of consumers) {
      if (c.name !== this.consumerName && Number(c.pending) === 0)
        await this.redis.xgroup('DELCONSUMER', this.stream, groupName, String(c.name));
    }
    this.pendingFirst = true;
  }

  /** From the first entry the stream still has (as event-bus-redis's `check_backlog`); a new group on a stream that already lost entries reports the gap. */
  private async ensureGroup(): Promise<boolean> {
    try {
      await this.redis.xgroup('CREATE', this.stream, this.owner.options.groupName, '0', 'MKSTREAM');
      return true;
    } catch (error) {
      if (/BUSYGROUP/.test((error as Error).message)) return false;
      throw error;
    }
  }

  /** The stream was deleted under the group (and maybe recreated): whatever it held unread is lost. */
  private async recreated(): Promise<void> {
    await this.ensureGroup();
    this.pendingFirst = false;
    this.retry = undefined;
    this.singleUntil = undefined;
    await this.owner.reportGap({
      group: this.owner.group,
      stream: this.stream,
      reason: 'stream_recreated',
      lastDeliveredId: 'unknown',
      lostUpToId: null,
      at: new Date().toISOString(),
    });
  }

  /**
   * Entries trimmed (MAXLEN) before the group read them. Trimming takes the oldest entries, so they
   * can only be lost when the oldest entry left is past the group's position; then the entries not
   * yet read (added − read, Redis 7 counters) outnumber those left. A group that never counted what it
   * read (new, or moved by hand) has lost entries when the stream ever held more than it holds now.
   */
  private async checkGap(): Promise<void> {
    const { groupName } = this.owner.options;
    const info = infoReply(
      await this.control.xinfo('STREAM', this.stream).catch((error: Error) => {
        // The stream is gone, and its group with it.
        throw /no such key/i.test(error.message) ? new Error(`NOGROUP ${error.message}`) : error;
      }),
    );
    const group = ((await this.control.xinfo('GROUPS', this.stream)) as unknown[])
      .map(infoReply)
      .find((g) => g.name === groupName);
    if (!group) throw new Error('NOGROUP the group is gone');
    if (info['entries-added'] === undefined) return; // Redis before 7.0 does not count
    const first = Array.isArray(info['first-entry']) ? String(info['first-entry'][0]) : null;
    const lastDelivered = String(group['last-delivered-id']);
    // Trimming takes the oldest first: nothing past the group's position can be gone while an entry at or before it is left.
    if (first && compareStreamIds(first, lastDelivered) <= 0) return;
    const added = Number(info['entries-added']);
    const length = Number(info.length);
    const read =
      group['entries-read'] === null || group['entries-read'] === undefined ? null : Number(group['entries-read']);
    if (added - (read ?? 0) <= length) return;
    // Counted as read past the hole first, so a crash before the report repeats it at most once.
    await this.control.xgroup('SETID', this.stream, groupName, lastDelivered, 'ENTRIESREAD', added - length);
    await this.owner.reportGap({
      group: this.owner.group,
      stream: this.stream,
      reason: 'trimmed',
      lastDeliveredId: lastDelivered,
      lostUpToId: null,
      lost: added - (read ?? 0) - length,
      at: new Date().toISOString(),
    });
  }

  /** Every read is preceded by the gap check: a read past a hole would hide it. */
  private async checkedRead(): Promise<Entry[]> {
    await this.checkGap();
    return this.read();
  }

  /**
   * A prefetching read returns as soon as the first entries arrive; what the producer added while
   * the previous batch was handled joins them, up to a batch, so a burst goes in full batches.
   */
  private async topUp(entries: Entry[]): Promise<Entry[]> {
    const max = this.owner.options.maxBatch ?? 500;
    if (!entries.length || entries.length >= max || this.pendingFirst || this.singleUntil || this.stopping)
      return entries;
    await this.checkGap();
    return entries.concat(await this.xreadgroup(['COUNT', max - entries.length, 'STREAMS', this.stream, '>']));
  }

  private async read(): Promise<Entry[]> {
    const { maxBatch } = this.owner.options;
    const count = this.singleUntil ? 1 : (maxBatch ?? 500);
    if (this.pendingFirst) {
      const entries = await this.xreadgroup(['COUNT', count, 'STREAMS', this.stream, '0']);
      if (entries.length) return entries;
      this.pendingFirst = false;
    }
    return this.xreadgroup(['COUNT', count, 'BLOCK', BLOCK_MS, 'STREAMS', this.stream, '>']);
  }

  private async xreadgroup(args: Array<string | number>): Promise<Entry[]> {
    const reply = (await this.redis.callBuffer(
      'XREADGROUP',
      'GROUP',
      this.owner.options.groupName,
      this.consumerName,
      ...args,
    )) as Array<[Buffer, Array<[Buffer, Buffer[] | null]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    return entries.map(([id, flat]) => {
      if (!flat) return { id: id.toString(), fields: null };
      const fields = new Map<string, Buffer>();
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i].toString('utf8'), flat[i + 1]);
      return { id: id.toString(), fields };
    });
  }

  private async ack(ids: string[]): Promise<void> {
    if (ids.length) await this.control.xack(this.stream, this.owner.options.groupName, ...ids);
  }

  private async handle(entries: Entry[]): Promise<void> {
    const { handler, group } = this.owner.options;
    const items: Array<{ entry: Entry; event: DecodedEvent }> = [];
    const skipped: string[] = [];
    for (const entry of entries) {
      if (!entry.fields) {
        // Trimmed while it was pending with a reader that died: lost.
        skipped.push(entry.id);
        await this.owner.reportGap({
          group,
          stream: this.stream,
          reason: 'pending_entry_trimmed',
          lastDeliveredId: entry.id,
          lostUpToId: entry.id,
          at: new Date().toISOString(),
        });
        continue;
      }
      let event: DecodedEvent;
      try {
        const { metadata, eventData } = parseStreamEntry(entry.fields);
        event = this.owner.codec.decodeSchemaless(metadata, eventData);
      } catch (error) {
        if (!(error instanceof StreamEntryError || error instanceof EventCodecError)) throw error;
        await this.deadLetter(
          entry,
          error,
          error instanceof StreamEntryError ? error.reason : error.code,
          1,
          new Date(),
        );
        await this.ack([entry.id]);
        continue;
      }
      if (!handler.types.includes(event.type) || (handler.filter && !handler.filter(event))) {
        handled.inc({ group, stream: this.stream, outcome: 'skipped' });
        skipped.push(entry.id);
        continue;
      }
      items.push({ entry, event });
    }
    await this.ack(skipped);
    let remaining = items;
    while (remaining.length && !this.stopping) {
      if (!this.lease.valid) return; // another instance may be reading now: leave the rest pending for it
      const first = remaining[0].entry.id;
      try {
        await handler.handle(
          remaining.map((x) => x.event),
          {
            topic: this.stream,
            partition: 0,
            offset: first,
            attempt: (this.retry?.firstId === first ? this.retry.attempt : 0) + 1,
            heartbeat: async () => undefined,
          },
        );
        await this.ack(remaining.map((x) => x.entry.id));
        handled.inc({ group, stream: this.stream, outcome: 'handled' }, remaining.length);
        this.done(remaining[remaining.length - 1].entry.id);
        return;
      } catch (error) {
        if (error instanceof PoisonMessageError) {
          const culprit =
            remaining.find((x) => x.event === error.event) ?? (remaining.length === 1 ? remaining[0] : undefined);
          if (culprit) {
            await this.deadLetter(
              culprit.entry,
              error,
              error.reason,
              this.retry?.attempt ?? 1,
              this.retry?.firstFailure ?? new Date(),
              culprit.event,
            );
            await this.ack([culprit.entry.id]);
            remaining = remaining.filter((x) => x !== culprit);
            continue;
          }
        }
        await this.failed(remaining, error);
        return;
      }
    }
  }

  private done(lastId: string): void {
    if (this.singleUntil && compareStreamIds(lastId, this.singleUntil) >= 0) this.singleUntil = undefined;
    this.retry = undefined;
  }

  /** The batch stays pending; it is read again from this reader's pending entries after a backoff. */
  private async failed(items: Array<{ entry: Entry; event: DecodedEvent }>, error: unknown): Promise<void> {
    const { policy } = this.owner;
    const err = error instanceof Error ? error : new Error(String(error));
    const first = items[0];
    const personal = items.reduce((found, x) => personalValues(x.event.data, found), new Set<string>());
    const retry =
      this.retry?.firstId === first.entry.id
        ? this.retry
        : { firstId: first.entry.id, attempt: 0, counted: 0, firstFailure: new Date() };
    retry.attempt++;
    this.retry = retry;
    this.pendingFirst = true;
    if (items.length > 1) {
      this.singleUntil = items[items.length - 1].entry.id;
      this.logger.warn(
        `batch ${this.stream}@${first.entry.id}..${this.singleUntil} failed, retrying entry by entry: ${redactPersonalData(err.message, personal)}`,
      );
      await this.pause(policy.backoff(retry.attempt));
      return;
    }
    if (policy.counts(error)) retry.counted++;
    const outageOver = policy.outageOver(error, retry.firstFailure);
    if (policy.exhausted(retry.counted) || outageOver) {
      const [reason, cause] = outageOver
        ? ['OUTAGE_BUDGET_EXCEEDED', new OutageBudgetExceededError(policy.outageBudgetMs / 1000, err)]
        : ['RETRY_BUDGET_EXCEEDED', new RetryBudgetExceededError(retry.attempt, err)];
      await this.deadLetter(first.entry, cause, reason, retry.attempt, retry.firstFailure, first.event);
      await this.ack([first.entry.id]);
      this.done(first.entry.id);
      return;
    }
    const delay = policy.backoff(retry.attempt);
    this.logger.warn(
      `${first.event.type} at ${this.stream}@${first.entry.id} failed (attempt ${retry.attempt}, ${policy.counts(error) ? `${retry.counted}/${policy.maxAttempts}` : 'dependency unavailable, not counted'}), retrying in ${delay} ms: ${redactPersonalData(err.message, personal)}`,
    );
    await this.pause(delay);
  }

  /** To the group's Kafka dead-letter topic, as it came: the entry's fields as `ce_*` headers, its event data as the value. */
  private async deadLetter(
    entry: Entry,
    error: Error,
    reason: string,
    attempts: number,
    firstFailure: Date,
    event?: DecodedEvent,
  ): Promise<void> {
    const { group, deadLetterTopic } = this.owner.options;
    const fields = entry.fields ?? new Map<string, Buffer>();
    const text = (name: string) => fields.get(name)?.toString('utf8');
    const original = Object.fromEntries(
      Object.entries(
        buildHeaders({
          id: text(StreamField.Id) ?? '',
          type: text(StreamField.Type) ?? '',
          source: text(StreamField.Source) ?? '',
          specVersion: '1.0',
          time: text(StreamField.Time) ?? '',
          minorVersion: Number(text(StreamField.MinorVersion)) || 0,
          sourcehost: text(StreamField.SourceHost) ?? '',
          sourcelib: text(StreamField.SourceLib) ?? '',
        }),
      ).filter(([, v]) => v !== ''),
    );
    // The Kafka runner's dead-letterer: the same headers, `dead_letters_total` and log line.
    await new DeadLetterer(this.owner.producer, group, deadLetterTopic, this.logger).send(
      { topic: this.stream, partition: 0 },
      {
        offset: entry.id,
        key: null,
        value: fields.get(StreamField.EventData) ?? null,
        headers: { ...original, [Header.ValueFraming]: SCHEMALESS },
      },
      { error, reason, attempts, firstFailure, personal: event ? personalValues(event.data) : undefined },
    );
    handled.inc({ group, stream: this.stream, outcome: 'dead_lettered' });
  }
}
