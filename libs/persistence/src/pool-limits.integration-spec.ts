import { isDatabaseUnavailable } from './database-errors';
import { DataSource, QueryRunner } from 'typeorm';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { dataSourceOptions, dropDatabase, ensureDatabase } from './database';

const env = stackEnv();

describe("the connection pool's limits", () => {
  const database = `poollimits_${uniqueSuffix()}_test`;
  let dataSource: DataSource;

  beforeAll(async () => {
    const flavor = await ensureDatabase(env.MYSQL_URL, database);
    const pool = { DB_POOL_SIZE: 2, DB_POOL_ACQUIRE_TIMEOUT_MS: 500, DB_STATEMENT_TIMEOUT_MS: 1000 };
    dataSource = await new DataSource(
      dataSourceOptions({ url: env.MYSQL_URL, database, flavor, entities: [], migrations: [], pool }),
    ).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(env.MYSQL_URL, database);
  });

  it('fails a query with DB_POOL_TIMEOUT, naming the settings, when every connection stays taken past the acquire timeout', async () => {
    const held: QueryRunner[] = [dataSource.createQueryRunner(), dataSource.createQueryRunner()];
    for (const runner of held) await runner.connect(); // the lease and an open evaluation run, say
    try {
      const started = Date.now();
      const error = (await dataSource.query('SELECT 1').catch((e: unknown) => e)) as { code?: string; message: string };
      expect(Date.now() - started).toBeLessThan(1500);
      expect(error.code).toBe('DB_POOL_TIMEOUT');
      expect(error.message).toContain('DB_POOL_SIZE');
      expect(isDatabaseUnavailable(error)).toBe(true); // waited out by consumers, 503 to API callers
    } finally {
      for (const runner of held) await runner.release();
    }
    // A connection given back serves the next query: the timed-out waiter took none.
    await expect(dataSource.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    await Promise.all([1, 2, 3, 4].map(() => dataSource.query('SELECT 1 AS one')));
  }, 10_000);

  it('stops a statement that runs past DB_STATEMENT_TIMEOUT_MS', async () => {
    const started = Date.now();
    const outcome = await dataSource.query('SELECT SLEEP(5) AS slept').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    // MariaDB (the stack's) raises an error; MySQL's SLEEP would answer 1 when interrupted.
    expect(outcome instanceof Error ? outcome.message : JSON.stringify(outcome)).toMatch(
      /max_statement_time|interrupted|"slept":1/i,
    );
  }, 10_000);
});
