import { Module } from '@nestjs/common';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingHealth, MessagingModule, MessagingTables1763700000000, OutboxMessage, OutboxRelay, registerMessagingReadiness } from '@groups-sync/messaging';
import { ObservabilityModule, ReadinessChecks } from '@groups-sync/observability';
import { databaseModule } from '@groups-sync/persistence';
import { EvaluatorServiceConfig } from './evaluator-service.config';

export const SERVICE = 'evaluator-service';
export const config = loadConfig(EvaluatorServiceConfig);

/** Wiring only for now: criteria plugins and evaluation runs arrive with their issue. */
@Module({
  imports: [
    ObservabilityModule.forRoot({ service: SERVICE, logLevel: config.LOG_LEVEL }),
    databaseModule({
      url: config.MYSQL_URL,
      database: config.DB_NAME,
      entities: [OutboxMessage, InboxEntry],
      migrations: [MessagingTables1763700000000],
    }),
    MessagingModule.forService(SERVICE, config, { outbox: true }),
  ],
})
export class AppModule {
  constructor(readiness: ReadinessChecks, health: MessagingHealth, relay: OutboxRelay) {
    registerMessagingReadiness((name, check) => readiness.add(name, check), health, relay);
  }
}
