import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freePort } from './free-port';
import { stopChild } from './stop-child';

const CACHE = resolve(__dirname, '../../../.cache');

function binary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin'])
    if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${name} is not installed (apt-get install mariadb-server): this test starts a MariaDB of its own`);
}

/**
 * A `mariadbd` of a test's own, on a free port with its data under `.cache/`: for tests that stop,
 * restart or reconfigure the database (the machine's server is shared by every other test).
 * `restart()` keeps the data and the port, as a database host that reboots does.
 */
export class PrivateMariadb {
  readonly port: Promise<number>;
  private server?: ChildProcess;
  private readonly datadir: string;

  constructor(
    private readonly home: string,
    private readonly serverId = 1,
    private readonly extraArgs: string[] = [],
  ) {
    this.datadir = join(home, 'data');
    this.port = freePort();
  }

  /** A new server under `.cache/<dir>/<pid>-<time>-<name>` (removed by `remove()`). */
  static async start(name: string, options: { serverId?: number; args?: string[] } = {}): Promise<PrivateMariadb> {
    const home = join(CACHE, 'private-mariadb', `${process.pid}-${Date.now()}-${name}`);
    const server = new PrivateMariadb(home, options.serverId, options.args);
    try {
      await server.install();
      await server.startServer();
    } catch (error) {
      await server.remove();
      throw error;
    }
    return server;
  }

  async url(): Promise<string> {
    return `mysql://root@127.0.0.1:${await this.port}`;
  }

  /** Runs one statement as root. */
  async sql(statement: string, params: unknown[] = []): Promise<unknown> {
    const c = await createConnection({ host: '127.0.0.1', port: await this.port, user: 'root' });
    try {
      return (await c.query(statement, params))[0];
    } finally {
      await c.end();
    }
  }

  /** Shuts the server down (SIGTERM, as systemd does; SIGKILL after 10 s) and waits until it is gone. */
  async stop(): Promise<void> {
    await stopChild(this.server, 10_000);
  }

  /** Started and not exited since. */
  get running(): boolean {
    return !!this.server && this.server.exitCode === null && this.server.signalCode === null;
  }

  /** Starts it again on the same port and data; nothing when it runs already. */
  async startServer(): Promise<void> {
    if (this.running) return;
    const log = join(this.home, 'server.log');
    const port = await this.port;
    const server = spawn(
      binary('mariadbd'),
      [
        '--no-defaults',
        `--datadir=${this.datadir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.home, 'server.sock')}`,
        `--pid-file=${join(this.home, 'server.pid')}`,
        `--server-id=${this.serverId}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=32M',
        `--log-error=${log}`,
        ...this.extraArgs,
        ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      ],
      { stdio: 'ignore', detached: false },
    );
    this.server = server;
    for (const started = Date.now(); Date.now() - started < 60_000;) {
      if (server.exitCode !== null) throw new Error(`mariadbd on port ${port} exited (${server.exitCode}); see ${log}`);
      try {
        const c = await createConnection({ host: '127.0.0.1', port, user: 'root' });
        await c.end();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`mariadbd on port ${port} did not answer within 60 s; see ${log}`);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startServer();
  }

  /** Stops it and deletes its data. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.home, { recursive: true, force: true });
  }

  private async install(): Promise<void> {
    mkdirSync(this.datadir, { recursive: true });
    execFileSync(
      binary('mariadb-install-db'),
      [
        '--no-defaults',
        `--datadir=${this.datadir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        `--user=${process.env.USER ?? 'root'}`,
      ],
      { stdio: 'ignore' },
    );
  }
}
