// The migrate step (`npm run migrate`, the production stack's `migrate`): this service's schema, migrated
// as the migrator, so the service itself can run with DB_MIGRATIONS_RUN=false and a user without DDL.
import 'reflect-metadata';
import { runMigrateCommand } from '@groups-sync/persistence';
import { GroupsServiceConfig } from './groups-service.config';
import { GROUPS_SERVICE_MIGRATIONS } from './migrations';

runMigrateCommand('groups-service', new GroupsServiceConfig().DB_NAME, GROUPS_SERVICE_MIGRATIONS);
