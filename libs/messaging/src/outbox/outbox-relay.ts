import { deleteOlderThan } from '@groups-sync/persistence';
import { Logger } from '@nestjs/common';
import { hostname } from 'node:os';
import { Gauge, Counter } from 'prom-client';
import { DataSource, QueryRunner } from 'typeorm';
import { EventCodec, EventCodecError, EventType, newEventMetadata, EncodedMessage } from '@groups-sync/contracts';
import { MessageProducer } from '../kafka/message-producer';
import { metric } from '../metrics';
import { OutboxMessage } from './outbox-message.entity';

export interface OutboxRelayOptions {
  service: string;
  pollIntervalMs: number;
  batchSize?: number;
  /** Sent outbox rows are kept this long for inspection, then deleted. */
  sentRetentionDays?: number;
  /** Inbox rows must outlive any redelivery: longer than the topics' retention (7 days by default). */
  inboxRetentionDays?: number;
}

const PRUNE_EVERY_MS = 10 * 60 * 1000;

const backlog = metric('outbox_backlog', () => new Gauge({ name: 'outbox_backlog', help: 'Outbox rows not yet published', labelNames: ['service'] }));
const oldestAge = metric('outbox_oldest_age_seconds', () => new Gauge({ name: 'outbox_oldest_age_seconds', help: 'Age of the oldest unpublished outbox row', labelNames: ['service'] }));
const published = metric('outbox_published_total', () => new Counter({ name: 'outbox_published_total', help: 'Outbox rows published', labelNames: ['service'] }));
const failed = metric('outbox_failed_total', () => new Counter({ name: 'outbox_failed_total', help: 'Outbox rows that could not be encoded and were set aside', labelNames: ['service'] }));

/**
 * Publishes outbox rows in id order. One relay per service is active at a time: it holds a MySQL
 * GET_LOCK lease on a dedicated connection, and checks it still owns it before each batch, so
 * per-key order holds even with several instances.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly lockName: string;
  private lockRunner?: QueryRunner;
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
    this.lockName = `outbox-relay:${options.service}:${dataSource.options.database}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
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
    await this.releaseLease();
  }

  get isLeader(): boolean {
    return !!this.lockRunner;
  }

  status(): { leader: boolean; lastError?: string; msSinceLastPublish: number } {
    return { leader: this.isLeader, lastError: this.lastError, msSinceLastPublish: Date.now() - this.lastPublishAt };
  }

  async backlogStats(): Promise<{ backlog: number; oldestAgeSeconds: number }> {
    const [row] = await this.dataSource.query(
      'SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL',
    );
    const oldest = row.oldest ? new Date(row.oldest).getTime() : Date.now();
    const stats = { backlog: Number(row.backlog), oldestAgeSeconds: Math.max(0, (Date.now() - oldest) / 1000) };
    backlog.set({ service: this.options.service }, stats.backlog);
    oldestAge.set({ service: this.options.service }, stats.oldestAgeSeconds);
    return stats;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let lastStats = 0;
    let lastPrune = 0;
    while (this.running) {
      let published = 0;
      try {
        // A leader re-checks its lease in publishBatch, right before sending.
        if (this.isLeader || (await this.holdLease())) published = await this.publishBatch();
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
        if (failures === 1 || failures % 20 === 0) this.logger.warn(`outbox relay: ${this.lastError} (attempt ${failures})`);
        await this.releaseLease().catch(() => undefined);
      }
      if (published === 0) await this.sleep(failures ? Math.min(5000, this.options.pollIntervalMs * 2 ** failures) : this.options.pollIntervalMs);
    }
  }

  private async publishBatch(): Promise<number> {
    const repo = this.dataSource.getRepository(OutboxMessage);
    // Plain SQL: hydrating hundreds of entities per batch cost more CPU than publishing them.
    const found: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT id, event_id, event_type, payload, occurred_at, correlation_id, causation_id FROM outbox
       WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT ?`, [this.options.batchSize ?? 500]);
    if (!found.length) return 0;
    const rows = found.map((r) => ({
      id: String(r.id), eventId: String(r.event_id), eventType: String(r.event_type),
      payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload, occurredAt: String(r.occurred_at),
      correlationId: (r.correlation_id as string | null) ?? null, causationId: (r.causation_id as string | null) ?? null,
    }));
    const messages: EncodedMessage[] = [];
    const sentIds: string[] = [];
    for (const row of rows) {
      try {
        messages.push(await this.encode(row));
        sentIds.push(row.id);
      } catch (error) {
        if (!(error instanceof EventCodecError)) throw error; // registry down: retry the whole batch later
        this.logger.error(`outbox row ${row.id} (${row.eventType}) cannot be encoded and is set aside: ${error.message}`);
        await repo.update({ id: row.id }, { failedAt: new Date(), lastError: error.message });
        failed.inc({ service: this.options.service });
      }
    }
    // Re-check the lease right before publishing: another instance may have taken over.
    if (!(await this.holdLease())) return 0;
    await this.producer.send(messages);
    if (sentIds.length) await this.dataSource.query('UPDATE outbox SET sent_at = ? WHERE id IN (?)', [new Date(), sentIds]);
    published.inc({ service: this.options.service }, sentIds.length);
    this.lastPublishAt = Date.now();
    return rows.length;
  }

  /** Deletes delivered history in small batches; only the leader does it. */
  async prune(): Promise<{ outbox: number; inbox: number }> {
    const sentDays = this.options.sentRetentionDays ?? 7;
    const inboxDays = this.options.inboxRetentionDays ?? 14;
    const outbox = await deleteOlderThan(this.dataSource, 'outbox', 'sent_at', { days: sentDays }, 5000);
    const hasInbox = (await this.dataSource.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'inbox'"))[0].n > 0;
    const inbox = hasInbox ? await deleteOlderThan(this.dataSource, 'inbox', 'processed_at', { days: inboxDays }, 5000) : 0;
    return { outbox, inbox };
  }

  private encode(row: Pick<OutboxMessage, 'eventId' | 'eventType' | 'payload' | 'occurredAt' | 'correlationId' | 'causationId'>): Promise<EncodedMessage> {
    const metadata = newEventMetadata(row.eventType, this.options.service, {
      id: row.eventId,
      time: row.occurredAt,
      correlationId: row.correlationId ?? undefined,
      causationId: row.causationId ?? undefined,
    });
    return this.codec.encode(row.eventType as EventType, row.payload as never, metadata);
  }

  private async holdLease(): Promise<boolean> {
    if (this.lockRunner) {
      const [row] = await this.lockRunner.query('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.lockName]);
      if (Number(row.mine) === 1) return true;
      await this.releaseLease();
      return false;
    }
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    const [row] = await runner.query('SELECT GET_LOCK(?, 0) AS got', [this.lockName]);
    if (Number(row.got) === 1) {
      this.lockRunner = runner;
      this.logger.log(`outbox relay lease taken by ${hostname()}/${process.pid}`);
      return true;
    }
    await runner.release();
    return false;
  }

  private async releaseLease(): Promise<void> {
    const runner = this.lockRunner;
    this.lockRunner = undefined;
    if (!runner) return;
    await runner.query('SELECT RELEASE_LOCK(?)', [this.lockName]).catch(() => undefined);
    await runner.release().catch(() => undefined);
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
