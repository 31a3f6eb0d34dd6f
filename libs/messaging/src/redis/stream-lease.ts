import Redis from 'ioredis';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Who reads a stream for a consumer group: one instance at a time, so entries are handled in stream
 * order (a stream has no key to partition by). The lease lapses on Redis's clock when its holder stops
 * renewing it (killed, cut off); a holder stops reading once a third of it is left unrenewed.
 */
export class StreamLease {
  private renewedAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly token: string,
    readonly ttlMs: number,
  ) {}

  /** Held, and renewed recently enough that no one else can have taken it. */
  get valid(): boolean {
    return this.renewedAt > 0 && Date.now() - this.renewedAt < (this.ttlMs * 2) / 3;
  }

  async acquire(): Promise<boolean> {
    const reply = await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    if (reply !== 'OK' && (await this.redis.eval(RENEW, 1, this.key, this.token, this.ttlMs)) !== 1) return false;
    this.renewedAt = Date.now();
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.ttlMs / 3)));
    return true;
  }

  private async renew(): Promise<void> {
    const started = Date.now();
    try {
      if ((await this.redis.eval(RENEW, 1, this.key, this.token, this.ttlMs)) === 1) this.renewedAt = started;
      else this.lost();
    } catch {
      // Not renewed: `valid` turns false by itself when this goes on for a third of the lease.
    }
  }

  private lost(): void {
    this.renewedAt = 0;
    clearInterval(this.timer);
  }

  async release(): Promise<void> {
    const held = this.renewedAt > 0;
    this.lost();
    if (held) await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
  }
}
