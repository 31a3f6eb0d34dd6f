// The migrate step (`npm run migrate`, the production stack's `migrate`): this service's schema, migrated
// as the migrator, so the service itself can run with DB_MIGRATIONS_RUN=false and a user without DDL.
import 'reflect-metadata';
import { runMigrateCommand } from '@groups-sync/persistence';
import { EvaluatorServiceConfig } from './evaluator-service.config';
import { EVALUATOR_MIGRATIONS } from './migrations';

runMigrateCommand('evaluator-service', new EvaluatorServiceConfig().DB_NAME, EVALUATOR_MIGRATIONS);
