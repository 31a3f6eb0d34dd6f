import { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSourceSettings, dataSourceOptions, ensureDatabase } from './database';

/** The service's own schema: created if missing, migrated at boot, never synchronized. */
export function databaseModule(settings: Omit<DataSourceSettings, 'flavor'>): DynamicModule {
  return TypeOrmModule.forRootAsync({
    useFactory: async () => dataSourceOptions({ ...settings, flavor: await ensureDatabase(settings.url, settings.database) }),
  });
}
