import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freePort } from './free-port';

/** A private MariaDB primary with its binary log on, and a replica of it applying `MASTER_DELAY` seconds late. */
export interface ReplicatedMariadb {
  primaryUrl: string;
  replicaUrl: string;
  /** Runs SQL as root on one of the two servers. */
  sql(on: 'primary' | 'replica', statement: string, params?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

const CACHE = resolve(__dirname, '../../../.cache');

function binary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin'])
    if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(
    `${name} is not installed (apt-get install mariadb-server): the replica-lag tests start their own primary and replica`,
  );
}

async function waitForServer(port: number, server: ChildProcess, log: string): Promise<void> {
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

/**
 * Starts two `mariadbd`s of their own (the machine's server has no binary log): a primary and a
 * replica of it with `MASTER_DELAY`, each on a free port with its data under `.cache/`. A replica
 * that really lags is the only honest test of reads dated by what a replica has applied.
 */
export async function startReplicatedMariadb(delaySeconds: number): Promise<ReplicatedMariadb> {
  const mariadbd = binary('mariadbd');
  const installDb = binary('mariadb-install-db');
  const home = join(CACHE, 'replica-test', `${process.pid}-${Date.now()}`);
  const servers: ChildProcess[] = [];
  const ports: Record<'primary' | 'replica', number> = { primary: await freePort(), replica: await freePort() };
  const start = async (role: 'primary' | 'replica', serverId: number) => {
    const datadir = join(home, role);
    mkdirSync(datadir, { recursive: true });
    execFileSync(
      installDb,
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        `--user=${process.env.USER ?? 'root'}`,
      ],
      { stdio: 'ignore' },
    );
    const log = join(home, `${role}.log`);
    const args = [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--port=${ports[role]}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(home, `${role}.sock`)}`,
      `--pid-file=${join(home, `${role}.pid`)}`,
      `--server-id=${serverId}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      `--log-error=${log}`,
      ...(role === 'primary' ? [`--log-bin=${join(datadir, 'bin')}`, '--binlog-format=ROW'] : ['--read-only=1']),
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ];
    const server = spawn(mariadbd, args, { stdio: 'ignore', detached: false });
    servers.push(server);
    await waitForServer(ports[role], server, log);
  };
  const sql = async (on: 'primary' | 'replica', statement: string, params: unknown[] = []) => {
    const c = await createConnection({ host: '127.0.0.1', port: ports[on], user: 'root', multipleStatements: false });
    try {
      return (await c.query(statement, params))[0];
    } finally {
      await c.end();
    }
  };
  const stop = async () => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((done) => {
            if (s.exitCode !== null) return done();
            s.once('exit', () => done());
            s.kill('SIGTERM');
            setTimeout(() => s.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await Promise.all([start('primary', 1), start('replica', 2)]);
    await sql('primary', "CREATE USER 'replicator'@'127.0.0.1' IDENTIFIED BY 'replicator'");
    await sql('primary', "GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'127.0.0.1'");
    await sql(
      'replica',
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${ports.primary}, MASTER_USER='replicator', MASTER_PASSWORD='replicator', MASTER_USE_GTID=slave_pos, MASTER_DELAY=${Number(delaySeconds)}`,
    );
    await sql('replica', 'START SLAVE');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    primaryUrl: `mysql://root@127.0.0.1:${ports.primary}`,
    replicaUrl: `mysql://root@127.0.0.1:${ports.replica}`,
    sql,
    stop,
  };
}
