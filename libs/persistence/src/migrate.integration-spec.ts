import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { stackEnv, uniqueSuffix, WORKSPACE_ROOT } from '@groups-sync/testing';
import { dataSourceOptions, dropDatabase, serverFlavor } from './database';
import { migrateDatabase, openUpToDateDataSource } from './migrate';
import { MigrationsErrorCode } from './migrations.exception';
import { parseMysqlUrl } from './mysql-url';

class Table1000000000001 implements MigrationInterface {
  name = 'Table1000000000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE item (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL)');
  }
  async down(): Promise<void> {}
}

class Index1000000000002 implements MigrationInterface {
  name = 'Index1000000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX item_name ON item (name)');
  }
  async down(): Promise<void> {}
}

const env = stackEnv();
const suffix = uniqueSuffix();
/** deploy/mysql-users.sql as the operator runs it, on schemas and users of this test's own. */
const SCHEMAS: Record<string, string> = {
  groups_service: `groups_service_test_${suffix}`,
  legacy_sync: `legacy_sync_test_${suffix}`,
  evaluator: `evaluator_test_${suffix}`,
};
const user = (name: string) => `t${suffix}_${name}`;
const sql = readFileSync(join(WORKSPACE_ROOT, 'deploy/mysql-users.sql'), 'utf8')
  .replace(/`(groups_service|legacy_sync|evaluator)`/g, (_, db: string) => `\`${SCHEMAS[db]}\``)
  .replace(/'groups_sync_(\w+)'/g, (_, name: string) => `'${user(name)}'`);
const USERS = [
  ...new Set(
    [...sql.matchAll(/CREATE USER IF NOT EXISTS '(\w+)'@'%' IDENTIFIED BY '([^']+)'/g)].map(
      ([, name, password]) => `${name}:${password}`,
    ),
  ),
];

function urlOf(name: string): string {
  const [username, password] = USERS.find((u) => u.startsWith(`${user(name)}:`))!.split(':');
  const { host, port } = parseMysqlUrl(env.MYSQL_URL);
  return `mysql://${username}:${password}@${host}:${port}`;
}

async function asAdmin<T>(run: (query: (statement: string) => Promise<unknown>) => Promise<T>): Promise<T> {
  const { host, port, username, password } = parseMysqlUrl(env.MYSQL_URL);
  const conn = await createConnection({ host, port, user: username, password });
  try {
    return await run((statement) => conn.query(statement));
  } finally {
    await conn.end();
  }
}

const migrations = [Table1000000000001, Index1000000000002];
const opened: DataSource[] = [];
const openAs = async (name: string, database: string, list = migrations) => {
  const options = dataSourceOptions({
    url: urlOf(name),
    database,
    flavor: await serverFlavor(urlOf(name)),
    entities: [],
    migrations: list,
    poolSize: 2,
  });
  const dataSource = await openUpToDateDataSource(options, database);
  opened.push(dataSource);
  return dataSource;
};

beforeAll(async () => {
  await asAdmin(async (query) => {
    for (const statement of sql
      .replace(/^\s*--.*$/gm, '')
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean))
      await query(statement);
  });
});

afterAll(async () => {
  await Promise.all(opened.map((d) => d.destroy()));
  await asAdmin(async (query) => {
    for (const entry of USERS) await query(`DROP USER IF EXISTS '${entry.split(':')[0]}'@'%'`);
  });
  for (const database of Object.values(SCHEMAS)) await dropDatabase(env.MYSQL_URL, database);
});

it("lets the migrator migrate a schema, and the service's user then boot on it, change its rows and no table", async () => {
  await migrateDatabase(urlOf('migrator'), SCHEMAS.groups_service, migrations);
  const groups = await openAs('groups', SCHEMAS.groups_service);

  await groups.query('INSERT INTO item (name) VALUES (?)', ['a']);
  await groups.query('UPDATE item SET name = ? WHERE name = ?', ['b', 'a']);
  expect(await groups.query('SELECT name FROM item')).toEqual([{ name: 'b' }]);
  await groups.query('DELETE FROM item');
  await expect(groups.query('CREATE TABLE other (id INT)')).rejects.toMatchObject({
    code: 'ER_TABLEACCESS_DENIED_ERROR',
  });
  await expect(groups.query('ALTER TABLE item ADD COLUMN x INT')).rejects.toMatchObject({
    code: 'ER_TABLEACCESS_DENIED_ERROR',
  });
  await expect(groups.query('DROP TABLE item')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
});

it("keeps each service's user out of the other services' schemas", async () => {
  await migrateDatabase(urlOf('migrator'), SCHEMAS.evaluator, migrations);
  const groups = await openAs('groups', SCHEMAS.groups_service);
  await expect(groups.query(`SELECT * FROM \`${SCHEMAS.evaluator}\`.item`)).rejects.toMatchObject({
    code: 'ER_TABLEACCESS_DENIED_ERROR',
  });
  await expect(openAs('groups', SCHEMAS.evaluator)).rejects.toMatchObject({ code: 'ER_DBACCESS_DENIED_ERROR' });
});

it('refuses to boot without DDL on a schema never migrated, or with migrations of its code pending', async () => {
  await expect(openAs('legacy_sync', SCHEMAS.legacy_sync)).rejects.toMatchObject({
    code: MigrationsErrorCode.SCHEMA_NOT_MIGRATED,
  });
  await migrateDatabase(urlOf('migrator'), SCHEMAS.legacy_sync, [Table1000000000001]);
  await expect(openAs('legacy_sync', SCHEMAS.legacy_sync)).rejects.toMatchObject({
    code: MigrationsErrorCode.MIGRATIONS_PENDING,
  });
  await migrateDatabase(urlOf('migrator'), SCHEMAS.legacy_sync, migrations);
  await expect(openAs('legacy_sync', SCHEMAS.legacy_sync)).resolves.toBeInstanceOf(DataSource);
});
