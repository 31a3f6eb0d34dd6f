import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingModule, OutboxMessage } from '@groups-sync/messaging';
import { ObservabilityModule } from '@groups-sync/observability';
import { databaseModule } from '@groups-sync/persistence';
import { AspectsClickHouse } from './criteria/aspects/aspects-clickhouse';
import { aspectsBackend } from './criteria/aspects/days-since-last-activity.plugin';
import { CriteriaRegistry } from './criteria/criteria-registry';
import { GroupEvaluator } from './evaluation/group-evaluator';
import { LmsReplica } from './evaluation/lms-replica';
import { EvaluatorServiceConfig } from './evaluator-service.config';
import { EVALUATOR_MIGRATIONS } from './migrations';
import { CriterionAnnouncer } from './criteria/criterion-announcer';
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
      migrations: EVALUATOR_MIGRATIONS,
      migrationsRun: config.DB_MIGRATIONS_RUN,
      pool: config,
    }),
    MessagingModule.forService(SERVICE, config, { outbox: true }),
  ],
  controllers: [GroupEventsConsumer, LmsEventsConsumer],
  providers: [
    { provide: EvaluatorServiceConfig, useValue: config },
    // Without ASPECTS_CLICKHOUSE_URL the Aspects types are not installed (nor announced).
    { provide: AspectsClickHouse, useFactory: () => AspectsClickHouse.fromConfig(config) },
    {
      provide: CriteriaRegistry,
      inject: [AspectsClickHouse],
      useFactory: (aspects: AspectsClickHouse | null) =>
        CriteriaRegistry.fromEnv(config.CRITERIA_PLUGINS, [
          aspectsBackend(aspects, {
            reporting: config.ASPECTS_CLICKHOUSE_DATABASE,
            eventSink: config.ASPECTS_EVENT_SINK_DATABASE,
          }),
        ]),
    },
    // Without LMS_DB_URL every evaluation fails, with that reason recorded on the group.
    {
      provide: LmsReplica,
      useFactory: () =>
        config.LMS_DB_URL ? new LmsReplica(config.LMS_DB_URL, config.LMS_DB_ASSUMED_LAG_SECONDS) : null,
    },
    {
      provide: GroupEvaluator,
      useFactory: (r: CriteriaRegistry, l: LmsReplica) => new GroupEvaluator(r, l),
      inject: [CriteriaRegistry, LmsReplica],
    },
    RefreshRuns,
    RefreshScheduler,
    CriterionAnnouncer,
  ],
})
export class AppModule {}
