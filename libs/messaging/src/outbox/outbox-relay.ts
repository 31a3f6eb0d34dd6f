import { deleteOlderThan } from '@groups-sync/persistence';
import { Logger } from '@nestjs/common';
import { Gauge, Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  EventCodec,
  EventCodecError,
  EventType,
  newEventMetadata,
  EncodedMessage,
  SchemaRegistryHttpError,
} from '@groups-sync/contracts';
import { MessageProducer, MessageTooLargeError, SEND_MAX_MESSAGES } from '../kafka/message-producer';
import { metric } from '@groups-sync/observability';
import { PackedEvents, packedEventId, unpackEvents } from './outbox-batch';
import { outboxOrderKey } from './outbox-order-key';
import { DEFAULT_RELAY_LEASE_SECONDS, OutboxRelayLease } from './outbox-relay-lease';

/** Events encoded between two turns of the event loop (as many as one produce request carries). */
const ENCODE_SLICE = SEND_MAX_MESSAGES;

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface OutboxRelayOptions {
  service: string;
  pollIntervalMs: number;
  batchSize?: number;
  /**
   * Payload bytes per send, at most (at least one row): bounds the relay's memory and stays under
   * the broker's default 1 MB record batch (an evaluation chunk is some 250 kB).
   */
  batchBytes?: number;
  /** Sent outbox rows are kept this long for inspection, then deleted. */
  sentRetentionDays?: number;
  /** Inbox rows must outlive any redelivery: longer than the topics' retention (7 days by default). */
  inboxRetentionDays?: number;
  /** The longest a dead, stopped or cut-off holder keeps the other instances from publishing (RELAY_LEASE_SECONDS). */
  leaseSeconds?: number;
}

const PRUNE_EVERY_MS = 10 * 60 * 1000;

const backlog = metric(
  'outbox_backlog',
  () =>
    new Gauge({
      name: 'outbox_backlog',
      help: 'Outbox rows not yet published (parked ones aside)',
      labelNames: ['service'],
    }),
);
const oldestAge = metric(
  'outbox_oldest_age_seconds',
  () =>
    new Gauge({
      name: 'outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished outbox row (parked ones aside)',
      labelNames: ['service'],
    }),
);
const published = metric(
  'outbox_published_total',
  () =>
    new Counter({
      name: 'outbox_published_total',
      help: 'Events published from the outbox (a packed row counts its events)',
      labelNames: ['service'],
    }),
);
const parkedTotal = metric(
  'outbox_parked_total',
  () =>
    new Counter({
      name: 'outbox_parked_total',
      help: 'Outbox rows parked because they can never be published',
      labelNames: ['service'],
    }),
);
const parkedNow = metric(
  'outbox_parked',
  () =>
    new Gauge({ name: 'outbox_parked', help: 'Outbox rows parked, waiting for an operator', labelNames: ['service'] }),
);
const heldNow = metric(
  'outbox_held',
  () =>
    new Gauge({
      name: 'outbox_held',
      help: 'Outbox rows held back behind a parked row with their key',
      labelNames: ['service'],
    }),
);

interface Row {
  id: string;
  eventId: string;
  eventType: string;
  orderKey: string | null;
  payload: unknown;
  /** More than one: the payload packs that many events (outbox-batch.ts). */
  eventCount: number;
  occurredAt: string;
  correlationId: string | null;
  causationId: string | null;
}

interface Encoded {
  row: Row;
  key: string;
  /** One per event: a packed row has many. */
  messages: EncodedMessage[];
}

/** A packed row whose payload does not hold its events (written by hand, or damaged). */
class PackedRowError extends Error {}

/** Why a row can never be published, or undefined when the failure may pass (registry or broker down). */
function unpublishable(error: unknown): string | undefined {
  if (error instanceof EventCodecError) return `${error.code}: ${error.message}`;
  if (error instanceof PackedRowError) return `INVALID_PACKED_ROW: ${error.message}`;
  // 409: incompatible with the subject's earlier versions; 422: a schema it cannot take.
  if (error instanceof SchemaRegistryHttpError && (error.status === 409 || error.status === 422)) return error.message;
  if (error instanceof MessageTooLargeError) return `MESSAGE_TOO_LARGE: ${error.message}`;
  return undefined;
}

/**
 * Publishes outbox rows in id order. One relay per service is active at a time: the holder of the
 * service's lease (OutboxRelayLease), which it must hold when each send starts, so per-key order
 * holds with several instances. A row that can never be published is parked; later rows with its
 * order key (topic and Kafka key) wait behind it, and the others go on.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly lease: OutboxRelayLease;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** A notify() that came while a batch was being published: the next batch starts at once. */
  private woken = false;
  private lastError?: string;
  private lastPublishAt = Date.now();

  constructor(
    private readonly dataSource: DataSource,
    private readonly codec: EventCodec,
    private readonly producer: MessageProducer,
    private readonly options: OutboxRelayOptions,
  ) {
    this.lease = new OutboxRelayLease(
      dataSource,
      options.service,
      options.leaseSeconds ?? DEFAULT_RELAY_LEASE_SECONDS,
      () => this.notify(),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lease.start();
    this.loop = this.run();
  }

  /** Lets a writer shorten the wait after a commit; polling alone is also correct. */
  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.lease.stop();
  }

  get isLeader(): boolean {
    return this.lease.valid;
  }

  /** The lease row's name (at most 64 characters) and this instance's holder id. */
  get leaseName(): string {
    return this.lease.name;
  }

  get holder(): string {
    return this.lease.holder;
  }

  status(): { leader: boolean; holder: string; lastError?: string; msSinceLastPublish: number } {
    return {
      leader: this.isLeader,
      holder: this.lease.holder,
      lastError: this.lastError,
      msSinceLastPublish: Date.now() - this.lastPublishAt,
    };
  }

  async backlogStats(): Promise<{ backlog: number; oldestAgeSeconds: number; parked: number; held: number }> {
    const [row] = await this.dataSource.query(
      `SELECT COUNT(*) - COUNT(parked_at) AS backlog, COUNT(parked_at) AS parked, MIN(IF(parked_at IS NULL, created_at, NULL)) AS oldest
       FROM outbox WHERE sent_at IS NULL`,
    );
    const parked = Number(row.parked);
    const held = parked
      ? Number(
          (
            await this.dataSource.query(
              `SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL
       AND order_key IN (SELECT order_key FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL)`,
            )
          )[0].n,
        )
      : 0;
    const oldest = row.oldest ? new Date(row.oldest).getTime() : Date.now();
    const stats = {
      backlog: Number(row.backlog),
      oldestAgeSeconds: Math.max(0, (Date.now() - oldest) / 1000),
      parked,
      held,
    };
    backlog.set({ service: this.options.service }, stats.backlog);
    oldestAge.set({ service: this.options.service }, stats.oldestAgeSeconds);
    parkedNow.set({ service: this.options.service }, parked);
    heldNow.set({ service: this.options.service }, held);
    return stats;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let lastStats = 0;
    let lastPrune = 0;
    while (this.running) {
      let published = 0;
      try {
        if (this.lease.valid) published = await this.publishBatch();
        failures = 0;
        this.lastError = undefined;
        if (Date.now() - lastStats > 5000) {
          lastStats = Date.now();
          await this.backlogStats();
        }
        if (this.isLeader && published === 0 && Date.now() - lastPrune > PRUNE_EVERY_MS) {
          lastPrune = Date.now();
          await this.prune();
        }
      } catch (error) {
        failures++;
        this.lastError = (error as Error).message;
        if (failures === 1 || failures % 20 === 0)
          this.logger.warn(`outbox relay: ${this.lastError} (attempt ${failures})`);
        // Another instance may do better (this one's producer may be the trouble).
        await this.lease.release();
      }
      if (published === 0)
        await this.sleep(
          failures ? Math.min(5000, this.options.pollIntervalMs * 2 ** failures) : this.options.pollIntervalMs,
        );
    }
  }

  private async publishBatch(): Promise<number> {
    // Parked rows are few: their keys, then the rows not behind them.
    const held = new Set<string>(
      (
        await this.dataSource.query(
          'SELECT DISTINCT order_key FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL AND order_key IS NOT NULL',
        )
      ).map((r: { order_key: string }) => r.order_key),
    );
    // Plain SQL: hydrating hundreds of entities per batch cost more CPU than publishing them.
    // First the next rows' sizes, then the payloads of those that fit in `batchSize` events (packed
    // rows hold many) and `batchBytes` of payload, the first row whatever its size. (One query with
    // window sums did the same, and cost the 1000/s path a third of its throughput.)
    const batchSize = this.options.batchSize ?? 500;
    const batchBytes = this.options.batchBytes ?? 900_000;
    const unsent = `sent_at IS NULL AND parked_at IS NULL${held.size ? ' AND (order_key IS NULL OR order_key NOT IN (?))' : ''}`;
    const heldParams = held.size ? [[...held]] : [];
    const sizes: Array<{ id: string; event_count: number; payload_bytes: number }> = await this.dataSource.query(
      `SELECT id, event_count, payload_bytes FROM outbox WHERE ${unsent} ORDER BY id LIMIT ?`,
      [...heldParams, batchSize],
    );
    if (!sizes.length) return 0;
    let last = 0;
    for (let events = 0, bytes = 0; last < sizes.length; last++) {
      events += Number(sizes[last].event_count);
      bytes += Number(sizes[last].payload_bytes);
      if (last > 0 && (events > batchSize || bytes > batchBytes)) break;
    }
    const found: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT id, event_id, event_type, order_key, payload, event_count, occurred_at, correlation_id, causation_id FROM outbox
       WHERE id BETWEEN ? AND ? AND ${unsent} ORDER BY id`,
      [sizes[0].id, sizes[last - 1].id, ...heldParams],
    );
    if (!found.length) return 0;
    const batch: Encoded[] = [];
    let encodedSinceYield = 0;
    for (const r of found) {
      const row: Row = {
        id: String(r.id),
        eventId: String(r.event_id),
        eventType: String(r.event_type),
        orderKey: (r.order_key as string | null) ?? null,
        payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
        eventCount: Number(r.event_count ?? 1),
        occurredAt: String(r.occurred_at),
        correlationId: (r.correlation_id as string | null) ?? null,
        causationId: (r.causation_id as string | null) ?? null,
      };
      let key = row.orderKey;
      if (!key) {
        // Written before order keys were (or by hand): computed now, and kept if it must wait.
        try {
          key = outboxOrderKey(
            row.eventType,
            row.eventCount > 1 ? (row.payload as PackedEvents | null)?.first : row.payload,
          );
        } catch (error) {
          await this.park(row, null, `NO_KEY: ${(error as Error).message}`);
          continue;
        }
        if (held.has(key)) await this.dataSource.query('UPDATE outbox SET order_key = ? WHERE id = ?', [key, row.id]);
      }
      if (held.has(key)) continue;
      try {
        const encoded = { row, key, messages: await this.encode(row) };
        batch.push(encoded);
        // Encoding is synchronous once the schema is cached: give the event loop back every
        // ENCODE_SLICE events across rows too (500 rows of one event each held it ~40 ms).
        encodedSinceYield += encoded.messages.length;
        if (encodedSinceYield >= ENCODE_SLICE) {
          encodedSinceYield = 0;
          await yieldToLoop();
        }
      } catch (error) {
        const reason = unpublishable(error);
        if (!reason) throw error; // registry down: the whole batch again later
        await this.park(row, key, reason);
        held.add(key);
      }
    }
    // Checked right before sending: another instance may have the lease now.
    if (!this.lease.valid) return 0;
    await yieldToLoop(); // the producer encodes its first request in the same turn as the call
    const sentIds: string[] = [];
    try {
      await this.send(batch, sentIds);
    } finally {
      if (sentIds.length) {
        await this.dataSource.query('UPDATE outbox SET sent_at = ? WHERE id IN (?)', [new Date(), sentIds]);
        const sent = new Set(sentIds);
        published.inc(
          { service: this.options.service },
          batch.filter((b) => sent.has(b.row.id)).reduce((n, b) => n + b.messages.length, 0),
        );
        this.lastPublishAt = Date.now();
      }
    }
    return found.length;
  }

  /**
   * The batch in one send; when the broker refuses it for its size, one row at a time, parking those
   * it refuses (rows of that batch already on Kafka go again: consumers apply each ce_id once).
   */
  private async send(batch: Encoded[], sentIds: string[]): Promise<void> {
    try {
      await this.producer.send(batch.flatMap((b) => b.messages));
      sentIds.push(...batch.map((b) => b.row.id));
      return;
    } catch (error) {
      if (!(error instanceof MessageTooLargeError)) throw error;
    }
    const refused = new Set<string>();
    for (const b of batch) {
      if (refused.has(b.key)) continue;
      if (!this.lease.valid) return;
      try {
        // A packed row is sent only whole: one refused event parks it (events sent before go again).
        for (const message of b.messages) await this.producer.send([message]);
        sentIds.push(b.row.id);
      } catch (error) {
        if (!(error instanceof MessageTooLargeError)) throw error;
        await this.park(b.row, b.key, unpublishable(error)!);
        refused.add(b.key);
      }
    }
  }

  private async park(row: Row, key: string | null, reason: string): Promise<void> {
    await this.dataSource.query(
      'UPDATE outbox SET parked_at = NOW(6), last_error = ?, order_key = COALESCE(order_key, ?) WHERE id = ?',
      [reason.slice(0, 4000), key, row.id],
    );
    parkedTotal.inc({ service: this.options.service });
    this.logger.error(
      `outbox row ${row.id} (${row.eventType}) can never be published and is parked; later rows with its key wait: ${reason}`,
    );
  }

  /** Deletes delivered history in small batches; only the leader does it. */
  async prune(): Promise<{ outbox: number; inbox: number }> {
    const sentDays = this.options.sentRetentionDays ?? 7;
    const inboxDays = this.options.inboxRetentionDays ?? 14;
    const outbox = await deleteOlderThan(this.dataSource, 'outbox', 'sent_at', { days: sentDays }, 5000);
    const hasInbox =
      (
        await this.dataSource.query(
          "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'inbox'",
        )
      )[0].n > 0;
    const inbox = hasInbox
      ? await deleteOlderThan(this.dataSource, 'inbox', 'processed_at', { days: inboxDays }, 5000)
      : 0;
    return { outbox, inbox };
  }

  private async encode(row: Row): Promise<EncodedMessage[]> {
    const one = (data: unknown, id: string) =>
      this.codec.encode(
        row.eventType as EventType,
        data as never,
        newEventMetadata(row.eventType, this.options.service, {
          id,
          time: row.occurredAt,
          correlationId: row.correlationId ?? undefined,
          causationId: row.causationId ?? undefined,
        }),
      );
    if (row.eventCount <= 1) return [await one(row.payload, row.eventId)];
    let events: unknown[];
    try {
      events = unpackEvents(row.payload as PackedEvents);
    } catch (error) {
      throw new PackedRowError(`a packed row that cannot be unpacked: ${(error as Error).message}`);
    }
    if (events.length !== row.eventCount)
      throw new PackedRowError(`the row says ${row.eventCount} events and packs ${events.length}`);
    const messages: EncodedMessage[] = [];
    for (const [i, data] of events.entries()) {
      messages.push(await one(data, packedEventId(row.eventId, i)));
      // A packed row of 10,000 events gives the event loop back every ENCODE_SLICE (an await of a
      // resolved promise alone does not).
      if (i % ENCODE_SLICE === ENCODE_SLICE - 1) await yieldToLoop();
    }
    return messages;
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
