import { Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource, QueryRunner } from 'typeorm';

export const DEFAULT_RELAY_LEASE_SECONDS = 15;
/** MySQL's limit for lock names; the lease row's key column has the same width. */
const MAX_NAME_LENGTH = 64;
/** A standby asks for an expired lease this often (at most), so it takes over within the lease plus this. */
const STANDBY_RETRY_MS = 1000;

/** The lease row's name: the service's; the row lives in the service's own database, so no database name is needed. */
export function relayLeaseName(service: string): string {
  const name = `outbox-relay:${service}`;
  return name.length <= MAX_NAME_LENGTH
    ? name
    : `outbox-relay:${createHash('sha256').update(service).digest('hex').slice(0, 40)}`;
}

/**
 * Which instance of a service may publish its outbox: a row (`outbox_relay_lease`) taken and renewed
 * with a conditional UPDATE on the database's clock. A holder that stops renewing (dead, stopped,
 * cut off) loses it `leaseSeconds` after its last renewal, whatever its connections do. The holder
 * starts a send only while a third of the lease is left, counted from when it asked for the renewal,
 * on its monotonic and wall clocks both (a suspended host stops the first, a clock step moves the second).
 */
export class OutboxRelayLease {
  readonly name: string;
  readonly holder = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly leaseMs: number;
  private validUntil?: { monotonic: number; wall: number };
  private runner?: QueryRunner;
  private rowWritten = false;
  private running = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private wakeLoop?: () => void;
  private failures = 0;
  private readonly logger = new Logger('OutboxRelay');

  constructor(
    private readonly dataSource: DataSource,
    service: string,
    leaseSeconds = DEFAULT_RELAY_LEASE_SECONDS,
    private readonly onTaken: () => void = () => undefined,
  ) {
    this.name = relayLeaseName(service);
    this.leaseMs = leaseSeconds * 1000;
  }

  /** Whether a send may start now. */
  get valid(): boolean {
    const until = this.validUntil;
    return !!until && performance.now() < until.monotonic && Date.now() < until.wall;
  }

  /** Renews every third of the lease while held; asks every second while another instance holds it. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.refresh().catch((error: Error) => {
          this.failures++;
          if (this.failures === 1 || this.failures % 20 === 0)
            this.logger.warn(`outbox relay lease: ${error.message} (attempt ${this.failures})`);
          this.dropRunner();
        });
        await new Promise<void>((resolve) => {
          this.wakeLoop = resolve;
          this.timer = setTimeout(
            resolve,
            this.validUntil ? this.leaseMs / 3 : Math.min(STANDBY_RETRY_MS, this.leaseMs / 3),
          );
        });
      }
    })();
  }

  /** Stops renewing and hands the lease over at once (its expiry set to now). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.wakeLoop?.();
    await this.loop;
    await this.release();
    this.dropRunner();
  }

  /** Gives the lease up (after a failed send, say) so that another instance may take it at once. */
  async release(): Promise<void> {
    if (!this.validUntil) return;
    this.validUntil = undefined;
    await this.dataSource
      .query('UPDATE outbox_relay_lease SET expires_at = NOW(6) WHERE name = ? AND holder = ?', [
        this.name,
        this.holder,
      ])
      .catch(() => undefined);
  }

  /** Takes the lease if it has expired, or renews it if this instance holds it; answers whether it does. */
  async refresh(): Promise<boolean> {
    const askedAt = { monotonic: performance.now(), wall: Date.now() };
    const runner = await this.connection();
    if (!this.rowWritten) {
      await runner.query(
        "INSERT IGNORE INTO outbox_relay_lease (name, holder, acquired_at, expires_at) VALUES (?, '', NOW(6), NOW(6))",
        [this.name],
      );
      this.rowWritten = true;
    }
    // acquired_at first: MySQL assigns left to right, and it must see the previous holder.
    const result = await runner.query(
      `UPDATE outbox_relay_lease SET acquired_at = IF(holder = ?, acquired_at, NOW(6)), holder = ?, expires_at = NOW(6) + INTERVAL ? MICROSECOND
       WHERE name = ? AND (holder = ? OR expires_at <= NOW(6))`,
      [this.holder, this.holder, this.leaseMs * 1000, this.name, this.holder],
    );
    this.failures = 0;
    const held = !!this.validUntil;
    if (Number(result.affectedRows) === 1) {
      const usable = this.leaseMs - this.leaseMs / 3;
      this.validUntil = { monotonic: askedAt.monotonic + usable, wall: askedAt.wall + usable };
      if (!held) {
        this.logger.log(`outbox relay lease ${this.name} taken by ${this.holder}`);
        this.onTaken();
      }
      return true;
    }
    this.validUntil = undefined;
    if (held)
      this.logger.warn(`outbox relay lease ${this.name} lost by ${this.holder}: it expired before it was renewed`);
    return false;
  }

  /** The current holder and expiry, as the database sees them (for status and tests). */
  async current(): Promise<{ holder: string; expiresAt: Date; acquiredAt: Date } | null> {
    const [row] = await this.dataSource.query(
      'SELECT holder, expires_at, acquired_at FROM outbox_relay_lease WHERE name = ? AND expires_at > NOW(6)',
      [this.name],
    );
    return row
      ? { holder: row.holder, expiresAt: new Date(row.expires_at), acquiredAt: new Date(row.acquired_at) }
      : null;
  }

  /** A connection of its own: a busy pool must not delay a renewal. */
  private async connection(): Promise<QueryRunner> {
    if (!this.runner) {
      const runner = this.dataSource.createQueryRunner();
      await runner.connect();
      this.runner = runner;
    }
    return this.runner;
  }

  private dropRunner(): void {
    const runner = this.runner;
    this.runner = undefined;
    runner?.release().catch(() => undefined);
  }
}
