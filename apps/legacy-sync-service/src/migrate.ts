// The migrate step (`npm run migrate`, the production stack's `migrate`): this service's schema, migrated
// as the migrator, so the service itself can run with DB_MIGRATIONS_RUN=false and a user without DDL.
import 'reflect-metadata';
import { runMigrateCommand } from '@groups-sync/persistence';
import { LegacySyncServiceConfig } from './legacy-sync-service.config';
import { LEGACY_SYNC_MIGRATIONS } from './migrations';

runMigrateCommand('legacy-sync-service', new LegacySyncServiceConfig().DB_NAME, LEGACY_SYNC_MIGRATIONS);
