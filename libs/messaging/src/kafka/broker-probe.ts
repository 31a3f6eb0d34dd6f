import { Admin, Kafka } from 'kafkajs';

/**
 * Whether a broker answers, over one admin connection kept for the probe's life: connected on first
 * use, dropped on a failure and connected again at the next ask (not one connection per
 * /health/consumers call, which a scraper or an anonymous caller would multiply).
 */
export class BrokerProbe {
  private admin?: Promise<Admin>;

  constructor(
    private readonly kafka: Kafka,
    private readonly timeoutMs = 3000,
  ) {}

  async reachable(): Promise<boolean> {
    const admin = this.connected();
    const probe = (async () => {
      try {
        await (await admin).describeCluster();
        return true;
      } catch {
        await this.drop(admin);
        return false;
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timeoutMs);
      timer.unref();
    });
    const answer = await Promise.race([probe, timeout]);
    clearTimeout(timer);
    // No answer in time: a connect that never settles must not be the one every later ask waits on.
    if (!answer) void this.drop(admin);
    return answer;
  }

  async close(): Promise<void> {
    if (this.admin) await this.drop(this.admin);
  }

  private connected(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: 0 } });
      await admin.connect();
      return admin;
    })();
    return this.admin;
  }

  /** Forgets the connection (if it is still the current one) and closes it. */
  private async drop(admin: Promise<Admin>): Promise<void> {
    if (this.admin === admin) this.admin = undefined;
    await admin.then((a) => a.disconnect()).catch(() => undefined);
  }
}
