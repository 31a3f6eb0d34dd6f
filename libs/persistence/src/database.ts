import { createConnection } from 'mysql2/promise';
import { DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import { parseMysqlUrl } from './mysql-url';
import { DEFAULT_POOL_ACQUIRE_TIMEOUT_MS, DEFAULT_POOL_SIZE, PoolLimits, poolLimitsDriver } from './pool-limits';
import { utcSessionsDriver } from './utc-sessions';

function connect(url: string) {
  const { host, port, username, password } = parseMysqlUrl(url);
  return createConnection({ host, port, user: username, password, connectTimeout: 10_000 });
}

export type ServerFlavor = 'mariadb' | 'mysql';
const DATABASE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Creates the service's schema if it is missing (idempotent) and tells MariaDB from MySQL,
 * so TypeORM gets `type: 'mariadb'` when it talks to MariaDB.
 */
export async function ensureDatabase(url: string, database: string): Promise<ServerFlavor> {
  if (!DATABASE_NAME.test(database)) throw new Error(`invalid database name "${database}"`);
  const conn = await connect(url);
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    const [rows] = await conn.query('SELECT VERSION() AS version');
    return /mariadb/i.test((rows as Array<{ version: string }>)[0].version) ? 'mariadb' : 'mysql';
  } finally {
    await conn.end();
  }
}

/** MariaDB or MySQL, asked without DDL: what a service whose user has none does at boot. */
export async function serverFlavor(url: string): Promise<ServerFlavor> {
  const conn = await connect(url);
  try {
    const [rows] = await conn.query('SELECT VERSION() AS version');
    return /mariadb/i.test((rows as Array<{ version: string }>)[0].version) ? 'mariadb' : 'mysql';
  } finally {
    await conn.end();
  }
}

export async function dropDatabase(url: string, database: string): Promise<void> {
  if (!DATABASE_NAME.test(database) || !database.includes('test'))
    throw new Error(`refusing to drop "${database}": only test databases`);
  const conn = await connect(url);
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await conn.end();
  }
}

export interface DataSourceSettings {
  url: string;
  database: string;
  flavor: ServerFlavor;
  entities: MixedList<Function | string | EntitySchema>;
  migrations: MixedList<Function | string>;
  poolSize?: number;
  /** The service's DB_POOL_* settings (its config object); `poolSize` wins over DB_POOL_SIZE. */
  pool?: PoolLimits;
}

/** Migrations only: schemas change through reviewed migrations, never `synchronize`. */
export function dataSourceOptions(settings: DataSourceSettings): DataSourceOptions {
  const conn = parseMysqlUrl(settings.url);
  const size = settings.poolSize ?? settings.pool?.DB_POOL_SIZE ?? DEFAULT_POOL_SIZE;
  const limits = {
    size,
    acquireTimeoutMs: settings.pool?.DB_POOL_ACQUIRE_TIMEOUT_MS ?? DEFAULT_POOL_ACQUIRE_TIMEOUT_MS,
    statementTimeoutMs: settings.pool?.DB_STATEMENT_TIMEOUT_MS ?? 0,
  };
  return {
    type: settings.flavor,
    connectorPackage: 'mysql2',
    driver: poolLimitsDriver(utcSessionsDriver(), settings.flavor, limits),
    host: conn.host,
    port: conn.port,
    username: conn.username,
    password: conn.password,
    database: settings.database,
    entities: settings.entities,
    migrations: settings.migrations,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    extra: { connectionLimit: size, connectTimeout: 10_000 },
    // Failed queries are not logged: callers handle them (a duplicate key is often the expected answer).
    logging: ['warn', 'migration'],
  } as DataSourceOptions;
}
