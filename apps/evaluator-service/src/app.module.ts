import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingHealth, MessagingModule, MessagingTables1763700000000, OutboxMessage, OutboxRelay, registerMessagingReadiness } from '@groups-sync/messaging';
import { ObservabilityModule, ReadinessChecks } from '@groups-sync/observability';
import { databaseModule } from '@groups-sync/persistence';
import { CriteriaRegistry } from './criteria/criteria-registry';
import { GroupEvaluator } from './evaluation/group-evaluator';
import { LmsReplica } from './evaluation/lms-replica';
import { EvaluatorServiceConfig } from './evaluator-service.config';
import { DynamicGroups1764200000400 } from './migrations/1764200000400-dynamic-groups.migration';
import { GroupEventsConsumer } from './refresh/group-events.consumer';
import { LmsEventsConsumer } from './refresh/lms-events.consumer';
import { RefreshRuns } from './refresh/refresh-runs';
import { RefreshScheduler } from './refresh/refresh-scheduler';

export const SERVICE = 'evaluator-service';
export const config = loadConfig(EvaluatorServiceConfig);

/** Criterion types (built-ins and plugins) and full refreshes of dynamic groups into snapshot chunks. */
@Module({
  imports: [
    ScheduleModule.forRoot(),
    ObservabilityModule.forRoot({ service: SERVICE, logLevel: config.LOG_LEVEL }),
    databaseModule({
      url: config.MYSQL_URL,
      database: config.DB_NAME,
      entities: [OutboxMessage, InboxEntry],
      migrations: [MessagingTables1763700000000, DynamicGroups1764200000400],
    }),
    MessagingModule.forService(SERVICE, config, { outbox: true }),
  ],
  controllers: [GroupEventsConsumer, LmsEventsConsumer],
  providers: [
    { provide: EvaluatorServiceConfig, useValue: config },
    { provide: CriteriaRegistry, useFactory: () => CriteriaRegistry.fromEnv(config.CRITERIA_PLUGINS) },
    // Without LMS_DB_URL every evaluation fails, with that reason recorded on the group.
    { provide: LmsReplica, useFactory: () => (config.LMS_DB_URL ? new LmsReplica(config.LMS_DB_URL) : null) },
    { provide: GroupEvaluator, useFactory: (r: CriteriaRegistry, l: LmsReplica) => new GroupEvaluator(r, l), inject: [CriteriaRegistry, LmsReplica] },
    RefreshRuns, RefreshScheduler,
  ],
})
export class AppModule {
  constructor(readiness: ReadinessChecks, health: MessagingHealth, relay: OutboxRelay) {
    registerMessagingReadiness((name, check) => readiness.add(name, check), health, relay);
  }
}
