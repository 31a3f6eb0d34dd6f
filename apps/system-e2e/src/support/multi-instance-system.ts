import { relayLeaseName } from '@groups-sync/messaging';
import { http, ServiceProcess, testPort } from '@groups-sync/testing';
import { System } from './system';

export type Service = 'groups-service' | 'legacy-sync-service' | 'evaluator-service';
export const SERVICES: Service[] = ['groups-service', 'legacy-sync-service', 'evaluator-service'];

/**
 * The product with two instances of each service (same database, same consumer groups, as
 * `INSTANCES=2 npm start` runs it) and one LMS emulator. API calls go to the live groups-service
 * instances in turn, and to the other one when an instance dies during a call.
 */
export class MultiInstanceSystem extends System {
  readonly instances: Record<Service, ServiceProcess[]>;
  private readonly unavailable = new Set<ServiceProcess>();
  private turn = 0;

  constructor(portBase: number, serviceEnv: Record<string, string> = {}) {
    super(portBase, serviceEnv, { evaluator: true });
    const second = (first: ServiceProcess, offset: number) =>
      new ServiceProcess(first.app, testPort(portBase + offset), first.env, `${this.prefix}-${first.app}-2`);
    this.instances = {
      'groups-service': [this.groupsService, second(this.groupsService, 4)],
      'legacy-sync-service': [this.legacySync, second(this.legacySync, 5)],
      'evaluator-service': [this.evaluator!, second(this.evaluator!, 6)],
    };
  }

  override async start(): Promise<void> {
    await super.start();
    await Promise.all(SERVICES.map((s) => this.instances[s][1].start()));
  }

  override async stop(): Promise<void> {
    for (const p of this.unavailable) p.resume();
    await Promise.all(SERVICES.map((s) => this.instances[s][1].stop()));
    await super.stop();
  }

  /** kill -9. */
  async crash(instance: ServiceProcess): Promise<void> {
    this.unavailable.add(instance);
    await instance.kill();
  }

  /** SIGSTOP, until thaw(). */
  freeze(instance: ServiceProcess): void {
    this.unavailable.add(instance);
    instance.pause();
  }

  thaw(instance: ServiceProcess): void {
    instance.resume();
    this.unavailable.delete(instance);
  }

  databaseOf(service: Service): string {
    return this.instances[service][0].env.DB_NAME;
  }

  /** The instance holding the service's outbox relay lease now, by the pid in the holder id; undefined while nobody does. */
  async leaseHolder(service: Service): Promise<ServiceProcess | undefined> {
    const [row] = await this.query(
      this.databaseOf(service),
      'SELECT holder FROM outbox_relay_lease WHERE name = ? AND expires_at > NOW(6)',
      [relayLeaseName(service)],
    );
    const pid = row ? Number(String(row.holder).split('/')[1]) : undefined;
    return this.instances[service].find((p) => p.pid === pid);
  }

  override async groups(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    for (let attempt = 0; ; attempt++) {
      const live = this.instances['groups-service'].filter((p) => !this.unavailable.has(p));
      const instance = live[this.turn++ % live.length];
      try {
        // A call in flight when its instance is frozen would hang until the thaw: given up after 5 s.
        return await http(
          method,
          `${instance.url}/api/user-groups/v1${path}`,
          body,
          { ...headers, authorization: `JWT ${await this.accessToken()}` },
          5000,
        );
      } catch (error) {
        // The instance died or froze during the call: the other one answers (member adds are idempotent).
        if (attempt >= 5) throw error;
      }
    }
  }
}
