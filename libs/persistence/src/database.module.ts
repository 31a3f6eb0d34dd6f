import { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSourceOptions } from 'typeorm';
import { DataSourceSettings, dataSourceOptions, ensureDatabase } from './database';
import { openMigratedDataSource } from './migration-lock';

/** The service's own schema: created if missing, migrated at boot under a lock (replicas start together), never synchronized. */
export function databaseModule(settings: Omit<DataSourceSettings, 'flavor'>): DynamicModule {
  return TypeOrmModule.forRootAsync({
    useFactory: async () => ({ ...dataSourceOptions({ ...settings, flavor: await ensureDatabase(settings.url, settings.database) }), migrationsRun: false }),
    dataSourceFactory: (options) => openMigratedDataSource(options as DataSourceOptions, settings.url, settings.database),
  });
}
