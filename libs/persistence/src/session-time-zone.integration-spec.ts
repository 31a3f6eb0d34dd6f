import { DataSource } from 'typeorm';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { dataSourceOptions, dropDatabase, ensureDatabase } from './database';

const env = stackEnv();

describe('a data source from dataSourceOptions', () => {
  const database = `tz_${uniqueSuffix()}_test`;
  let dataSource: DataSource;

  beforeAll(async () => {
    const flavor = await ensureDatabase(env.MYSQL_URL, database);
    dataSource = await new DataSource(
      dataSourceOptions({ url: env.MYSQL_URL, database, flavor, entities: [], migrations: [], poolSize: 4 }),
    ).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(env.MYSQL_URL, database);
  });

  it('runs every pooled session in UTC, whatever the server global time_zone is', async () => {
    // Four query runners hold four connections of the pool at once, so each is a new session.
    const runners = await Promise.all(
      [1, 2, 3, 4].map(async () => {
        const runner = dataSource.createQueryRunner();
        await runner.connect();
        return runner;
      }),
    );
    try {
      const answers = await Promise.all(
        runners.map((r) =>
          r.query(
            'SELECT @@global.time_zone AS global_tz, @@session.time_zone AS session_tz, CONNECTION_ID() AS id, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), NOW(6)) AS offset_s',
          ),
        ),
      );
      const rows = answers.map((a) => a[0] as { global_tz: string; session_tz: string; id: number; offset_s: number });
      expect(new Set(rows.map((r) => r.id)).size).toBe(4);
      for (const row of rows)
        expect({ session_tz: row.session_tz, offset_s: Number(row.offset_s) }).toEqual({
          session_tz: '+00:00',
          offset_s: 0,
        });
    } finally {
      await Promise.all(runners.map((r) => r.release()));
    }
  });

  it('reads a DEFAULT CURRENT_TIMESTAMP back as the current instant', async () => {
    await dataSource.query(
      'CREATE TABLE stamped (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))',
    );
    const before = Date.now();
    await dataSource.query('INSERT INTO stamped () VALUES ()');
    const [row] = await dataSource.query('SELECT at FROM stamped');
    expect(Math.abs((row.at as Date).getTime() - before)).toBeLessThan(5_000);
  });
});
