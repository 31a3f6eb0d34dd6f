import { DataSource, DataSourceOptions, MixedList } from 'typeorm';
import { loadConfig } from '@groups-sync/config';
import { dataSourceOptions, ensureDatabase } from './database';
import { MigrationConfig } from './migration.config';
import { openMigratedDataSource } from './migration-lock';
import { MigrationsErrorCode, MigrationsException } from './migrations.exception';

/**
 * A data source on a schema the migrate step has brought up to date, opened without DDL: a schema
 * never migrated, or with migrations of this code still pending, stops the boot with what to run.
 */
export async function openUpToDateDataSource(options: DataSourceOptions, database: string): Promise<DataSource> {
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  try {
    const runner = dataSource.createQueryRunner();
    // showMigrations() would create the migrations table, which a user without DDL may not.
    const migrated = await runner.hasTable(options.migrationsTableName ?? 'migrations').finally(() => runner.release());
    if (!migrated)
      throw new MigrationsException(
        MigrationsErrorCode.SCHEMA_NOT_MIGRATED,
        `${database} has never been migrated: run the migrate step (npm run migrate) first`,
      );
    if (await dataSource.showMigrations())
      throw new MigrationsException(
        MigrationsErrorCode.MIGRATIONS_PENDING,
        `${database} has migrations pending: run this version's migrate step (npm run migrate) first`,
      );
    return dataSource;
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}

/** Creates the schema if missing and runs its pending migrations (under the lock), then disconnects. */
export async function migrateDatabase(
  url: string,
  database: string,
  migrations: MixedList<Function | string>,
): Promise<void> {
  const options = dataSourceOptions({
    url,
    database,
    flavor: await ensureDatabase(url, database),
    entities: [],
    migrations,
    poolSize: 2,
  });
  const dataSource = await openMigratedDataSource(options, url, database);
  await dataSource.destroy();
}

/** A service's migrate entry: migrates its schema as the migrator (MigrationConfig) and exits 0, or prints why and exits 1. */
export function runMigrateCommand(
  service: string,
  defaultDatabase: string,
  migrations: MixedList<Function | string>,
): void {
  const run = async () => {
    const config = loadConfig(MigrationConfig);
    const database = config.DB_NAME ?? defaultDatabase;
    await migrateDatabase(config.MYSQL_URL, database, migrations);
    console.log(`${service}: ${database} is up to date`);
  };
  run().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`${service}: migration failed: ${error.message}`);
      process.exit(1);
    },
  );
}
