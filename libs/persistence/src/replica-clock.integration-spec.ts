import { createPool, Pool } from 'mysql2/promise';
import { ReplicatedMariadb, startReplicatedMariadb } from '@groups-sync/testing';
import { ReplicaBehindError, ReplicaClock, ReplicaNotReplicatingError } from './replica-clock';

const DELAY_SECONDS = 3;
let servers: ReplicatedMariadb;
let replica: Pool;
const clockOf = (pool: Pool, assumedLagSeconds = 30) =>
  new ReplicaClock(async (sql) => (await pool.query(sql))[0] as Array<Record<string, unknown>>, assumedLagSeconds);

beforeAll(async () => {
  servers = await startReplicatedMariadb(DELAY_SECONDS);
  await servers.sql('primary', 'CREATE DATABASE edxapp');
  await servers.sql(
    'primary',
    'CREATE TABLE edxapp.course_groups_cohortmembership (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, committed_at DATETIME(6) NOT NULL)',
  );
  replica = createPool({ uri: `${servers.replicaUrl}/mysql`, connectionLimit: 2 });
  // The schema itself replicates MASTER_DELAY late.
  for (const start = Date.now(); Date.now() - start < 20_000;) {
    const [rows] = await replica.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'edxapp'");
    if ((rows as unknown[]).length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
}, 90_000);

afterAll(async () => {
  await replica?.end();
  await servers?.stop();
}, 30_000);

describe('ReplicaClock against a real MariaDB replica with MASTER_DELAY', () => {
  it('never dates a read past a change the read does not hold, and catches up once the replica applies it', async () => {
    const clock = clockOf(replica);
    await servers.sql(
      'primary',
      'INSERT INTO edxapp.course_groups_cohortmembership (user_id, committed_at) VALUES (42, NOW(6))',
    );
    const committed = Date.now();
    let sawLag = 0;
    let sawIt = false;
    // Each read is dated by the clock asked just before it: a date at or after the commit must come with the row.
    while (Date.now() - committed < (DELAY_SECONDS + 4) * 1000 && !sawIt) {
      const position = await clock.position();
      const [rows] = await replica.query(
        'SELECT user_id FROM edxapp.course_groups_cohortmembership WHERE user_id = 42',
      );
      const holds = (rows as unknown[]).length === 1;
      if (position.at.getTime() >= committed) expect(holds).toBe(true);
      sawLag = Math.max(sawLag, position.lagSeconds);
      sawIt = holds;
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(sawIt).toBe(true);
    expect(sawLag).toBeGreaterThanOrEqual(DELAY_SECONDS - 1);
    // Applied: the replica stands for "a second ago" again, not for the delay.
    expect((await clock.position()).at.getTime()).toBeGreaterThanOrEqual(committed);
  }, 30_000);

  it("waits for an event's change to be applied before a read is dated after it, and gives up as an outage past its wait", async () => {
    const clock = clockOf(replica);
    await servers.sql(
      'primary',
      'INSERT INTO edxapp.course_groups_cohortmembership (user_id, committed_at) VALUES (43, NOW(6))',
    );
    const eventTime = new Date();
    const error = await clock.positionAfter(eventTime, 500).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ReplicaBehindError);
    expect((error as ReplicaBehindError & { dependencyUnavailable: boolean }).dependencyUnavailable).toBe(true);
    const position = await clock.positionAfter(eventTime, (DELAY_SECONDS + 5) * 1000);
    expect(position.at.getTime()).toBeGreaterThanOrEqual(eventTime.getTime());
    const [rows] = await replica.query('SELECT user_id FROM edxapp.course_groups_cohortmembership WHERE user_id = 43');
    expect(rows).toHaveLength(1);
  }, 30_000);

  it('reads the primary as of now, and a replica it may not ask as of the assumed lag', async () => {
    const primary = createPool({ uri: `${servers.primaryUrl}/mysql`, connectionLimit: 1 });
    try {
      expect(await clockOf(primary).position()).toMatchObject({ source: 'primary', lagSeconds: 0 });
    } finally {
      await primary.end();
    }
    await servers.sql('replica', "CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'reader'");
    await servers.sql('replica', "GRANT SELECT ON *.* TO 'reader'@'127.0.0.1'");
    const reader = createPool({
      uri: servers.replicaUrl.replace('root@', 'reader:reader@') + '/mysql',
      connectionLimit: 1,
    });
    try {
      const before = Date.now();
      const position = await clockOf(reader, 30).position();
      expect(position).toMatchObject({ source: 'assumed', lagSeconds: 30 });
      expect(position.at.getTime()).toBeLessThanOrEqual(before - 29_000);
    } finally {
      await reader.end();
    }
  }, 30_000);

  it('refuses to date reads of a replica that stopped replicating', async () => {
    await servers.sql('replica', 'STOP SLAVE');
    try {
      await expect(clockOf(replica).position()).rejects.toBeInstanceOf(ReplicaNotReplicatingError);
    } finally {
      await servers.sql('replica', 'START SLAVE');
    }
  }, 30_000);
});
