import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingHealth, MessagingModule, MessagingTables1763700000000, OutboxMessage, OutboxRelay, registerMessagingReadiness } from '@groups-sync/messaging';
import { ObservabilityModule, ReadinessChecks } from '@groups-sync/observability';
import { dataSourceOptions, ensureDatabase } from '@groups-sync/persistence';
import { EvaluatorServiceConfig } from './evaluator-service.config';

export const SERVICE = 'evaluator-service';
export const config = loadConfig(EvaluatorServiceConfig);

/** Wiring only for now: criteria plugins and evaluation runs arrive with their issue. */
@Module({
  imports: [
    ObservabilityModule.forRoot({ service: SERVICE, logLevel: config.LOG_LEVEL }),
    TypeOrmModule.forRootAsync({
      useFactory: async () =>
        dataSourceOptions({
          url: config.MYSQL_URL,
          database: config.DB_NAME,
          flavor: await ensureDatabase(config.MYSQL_URL, config.DB_NAME),
          entities: [OutboxMessage, InboxEntry],
          migrations: [MessagingTables1763700000000],
        }),
    }),
    MessagingModule.forRoot({
      service: SERVICE,
      brokers: config.KAFKA_BROKERS.split(','),
      topicPrefix: config.EVENT_BUS_TOPIC_PREFIX,
      schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
      outbox: true,
      outboxPollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      consumerMaxAttempts: config.CONSUMER_MAX_ATTEMPTS,
      consumerBackoffMaxMs: config.CONSUMER_BACKOFF_MAX_MS,
    }),
  ],
})
export class AppModule {
  constructor(readiness: ReadinessChecks, health: MessagingHealth, relay: OutboxRelay) {
    registerMessagingReadiness((name, check) => readiness.add(name, check), health, relay);
  }
}
