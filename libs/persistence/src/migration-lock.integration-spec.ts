import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { dataSourceOptions, dropDatabase, ensureDatabase } from './database';
import { openMigratedDataSource } from './migration-lock';

/** Each run of a migration leaves a row; each takes a moment, so replicas starting together overlap. */
class First1000000000001 implements MigrationInterface {
  name = 'First1000000000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE IF NOT EXISTS migration_run (migration VARCHAR(64) NOT NULL)');
    await q.query('INSERT INTO migration_run VALUES (?)', [this.name]);
    await q.query('SELECT SLEEP(0.3)');
  }
  async down(): Promise<void> {}
}

class Second1000000000002 implements MigrationInterface {
  name = 'Second1000000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query('INSERT INTO migration_run VALUES (?)', [this.name]);
    await q.query('SELECT SLEEP(0.3)');
  }
  async down(): Promise<void> {}
}

const env = stackEnv();
const DB = `migration_lock_test_${uniqueSuffix()}`;
const opened: DataSource[] = [];

afterAll(async () => {
  await Promise.all(opened.map((d) => d.destroy()));
  await dropDatabase(env.MYSQL_URL, DB);
});

it('migrates a fresh database once when several replicas start at the same moment, and every replica starts', async () => {
  const flavor = await ensureDatabase(env.MYSQL_URL, DB);
  const options = dataSourceOptions({
    url: env.MYSQL_URL,
    database: DB,
    flavor,
    entities: [],
    migrations: [First1000000000001, Second1000000000002],
    poolSize: 2,
  });
  const replicas = await Promise.allSettled([1, 2, 3].map(() => openMigratedDataSource(options, env.MYSQL_URL, DB)));
  for (const r of replicas) if (r.status === 'fulfilled') opened.push(r.value);

  expect(replicas.map((r) => (r.status === 'rejected' ? String(r.reason) : 'started'))).toEqual([
    'started',
    'started',
    'started',
  ]);
  const runs = await opened[0].query(
    'SELECT migration, COUNT(*) AS n FROM migration_run GROUP BY migration ORDER BY migration',
  );
  expect(runs.map((r: { migration: string; n: number | string }) => [r.migration, Number(r.n)])).toEqual([
    ['First1000000000001', 1],
    ['Second1000000000002', 1],
  ]);
  expect(
    (await opened[0].query('SELECT name FROM migrations ORDER BY id')).map((r: { name: string }) => r.name),
  ).toEqual(['First1000000000001', 'Second1000000000002']);
});
