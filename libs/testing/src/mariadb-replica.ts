import { PrivateMariadb } from './private-mariadb';

/** A private MariaDB primary with its binary log on, and a replica of it applying `MASTER_DELAY` seconds late. */
export interface ReplicatedMariadb {
  primaryUrl: string;
  replicaUrl: string;
  /** Runs SQL as root on one of the two servers. */
  sql(on: 'primary' | 'replica', statement: string, params?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts two `mariadbd`s of their own (the machine's server has no binary log): a primary and a
 * replica of it with `MASTER_DELAY`, each on a free port with its data under `.cache/`. A replica
 * that really lags is the only honest test of reads dated by what a replica has applied.
 */
export async function startReplicatedMariadb(delaySeconds: number): Promise<ReplicatedMariadb> {
  const started = await Promise.allSettled([
    PrivateMariadb.start('primary', { serverId: 1, args: ['--log-bin=bin', '--binlog-format=ROW'] }),
    PrivateMariadb.start('replica', { serverId: 2, args: ['--read-only=1'] }),
  ]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(servers.map((s) => s.remove()));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [primary, replica] = servers;
  try {
    await primary.sql("CREATE USER 'replicator'@'127.0.0.1' IDENTIFIED BY 'replicator'");
    await primary.sql("GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'127.0.0.1'");
    await replica.sql(
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${await primary.port}, MASTER_USER='replicator', MASTER_PASSWORD='replicator', MASTER_USE_GTID=slave_pos, MASTER_DELAY=${Number(delaySeconds)}`,
    );
    await replica.sql('START SLAVE');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    primaryUrl: await primary.url(),
    replicaUrl: await replica.url(),
    sql: (on, statement, params) => (on === 'primary' ? primary : replica).sql(statement, params),
    stop,
  };
}
