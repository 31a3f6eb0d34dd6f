import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { loadConfig } from '@groups-sync/config';
import { MessagingModule } from '@groups-sync/messaging';
import { ObservabilityModule } from '@groups-sync/observability';
import { dataSourceOptions, ensureDatabase } from '@groups-sync/persistence';
import { OAuthController } from './auth/oauth.controller';
import { TokenGuard } from './auth/token.guard';
import { CohortsController } from './cohorts/cohorts.controller';
import { CohortsService } from './cohorts/cohorts.service';
import { LmsEventsPublisher } from './events/lms-events.publisher';
import { LmsEmulatorConfig } from './lms-emulator.config';
import { LmsTables1763700000200 } from './migrations/1763700000200-lms-tables.migration';
import { EmulatorController } from './users/emulator.controller';

export const config = loadConfig(LmsEmulatorConfig);

@Module({
  imports: [
    ObservabilityModule.forRoot({ service: 'lms-emulator', logLevel: config.LOG_LEVEL }),
    TypeOrmModule.forRootAsync({
      useFactory: async () =>
        dataSourceOptions({
          url: config.MYSQL_URL,
          database: config.DB_NAME,
          flavor: await ensureDatabase(config.MYSQL_URL, config.DB_NAME),
          entities: [],
          migrations: [LmsTables1763700000200],
        }),
    }),
    MessagingModule.forRoot({
      service: 'lms',
      brokers: config.KAFKA_BROKERS.split(','),
      topicPrefix: config.EVENT_BUS_TOPIC_PREFIX,
      schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
      outbox: false,
      consumerMaxAttempts: config.CONSUMER_MAX_ATTEMPTS,
      consumerBackoffMaxMs: config.CONSUMER_BACKOFF_MAX_MS,
    }),
  ],
  controllers: [OAuthController, CohortsController, EmulatorController],
  providers: [{ provide: LmsEmulatorConfig, useValue: config }, TokenGuard, CohortsService, LmsEventsPublisher],
})
export class AppModule {}
