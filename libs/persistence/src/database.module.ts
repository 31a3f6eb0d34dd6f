import { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSourceOptions } from 'typeorm';
import { DataSourceSettings, dataSourceOptions, ensureDatabase, serverFlavor } from './database';
import { openUpToDateDataSource } from './migrate';
import { openMigratedDataSource } from './migration-lock';

/**
 * The service's own schema, never synchronized: created if missing and migrated at boot under a lock
 * (replicas start together), or, with `migrationsRun: false` (DB_MIGRATIONS_RUN), left to the migrate
 * step and only checked to be up to date, so the service's user needs no DDL.
 */
export function databaseModule(
  settings: Omit<DataSourceSettings, 'flavor'> & { migrationsRun?: boolean },
): DynamicModule {
  const migrate = settings.migrationsRun ?? true;
  return TypeOrmModule.forRootAsync({
    useFactory: async () => ({
      ...dataSourceOptions({
        ...settings,
        flavor: await (migrate ? ensureDatabase(settings.url, settings.database) : serverFlavor(settings.url)),
      }),
      migrationsRun: false,
    }),
    dataSourceFactory: (options) =>
      migrate
        ? openMigratedDataSource(options as DataSourceOptions, settings.url, settings.database)
        : openUpToDateDataSource(options as DataSourceOptions, settings.database),
  });
}
