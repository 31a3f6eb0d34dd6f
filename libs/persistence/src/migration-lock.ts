import { createHash } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { DataSource, DataSourceOptions } from 'typeorm';
import { parseMysqlUrl } from './mysql-url';

/** MySQL refuses GET_LOCK names longer than 64 characters: a database name too long for the suffix is hashed. */
export function migrationLockName(database: string): string {
  const name = `${database}-migrations`;
  return name.length <= 64 ? name : `migrations-${createHash('sha256').update(database).digest('hex').slice(0, 40)}`;
}

/**
 * Runs the pending migrations holding a server-wide lock named after the database, taken on a
 * connection of its own (not the pool's, which the migrations use): replicas that start at once
 * migrate one after the other, and those that waited find nothing left to run.
 */
export async function runMigrationsLocked(
  dataSource: DataSource,
  url: string,
  database: string,
  timeoutSeconds = 600,
): Promise<void> {
  const name = migrationLockName(database);
  const { host, port, username, password } = parseMysqlUrl(url);
  const conn = await createConnection({ host, port, user: username, password, connectTimeout: 10_000 });
  try {
    const [rows] = await conn.query('SELECT GET_LOCK(?, ?) AS got', [name, timeoutSeconds]);
    if (Number((rows as Array<{ got: unknown }>)[0].got) !== 1) {
      throw new Error(
        `no migration lock "${name}" after ${timeoutSeconds} s: another instance is still migrating ${database}`,
      );
    }
    try {
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
    }
  } finally {
    await conn.end();
  }
}

/** A data source whose schema is migrated (under the lock) before it is handed out. */
export async function openMigratedDataSource(
  options: DataSourceOptions,
  url: string,
  database: string,
): Promise<DataSource> {
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  try {
    await runMigrationsLocked(dataSource, url, database);
    return dataSource;
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}
