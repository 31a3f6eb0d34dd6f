import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingHealth, MessagingModule, MessagingTables1763700000000, OutboxMessage, OutboxRelay, registerMessagingReadiness } from '@groups-sync/messaging';
import { ObservabilityModule, ReadinessChecks } from '@groups-sync/observability';
import { dataSourceOptions, ensureDatabase } from '@groups-sync/persistence';
import { AuditEvent } from './audit/audit-event.entity';
import { GroupsServiceConfig } from './groups-service.config';
import { Criterion } from './groups/criterion.entity';
import { GroupsController } from './groups/groups.controller';
import { GroupsService } from './groups/groups.service';
import { UserGroup } from './groups/user-group.entity';
import { LegacyCommandsConsumer } from './legacy-commands/legacy-commands.consumer';
import { MembersController } from './memberships/members.controller';
import { Membership } from './memberships/membership.entity';
import { MembershipsService } from './memberships/memberships.service';
import { UserGroups1763700000100 } from './migrations/1763700000100-user-groups.migration';

export const SERVICE = 'groups-service';
export const config = loadConfig(GroupsServiceConfig);

@Module({
  imports: [
    ObservabilityModule.forRoot({ service: SERVICE, logLevel: config.LOG_LEVEL }),
    TypeOrmModule.forRootAsync({
      useFactory: async () =>
        dataSourceOptions({
          url: config.MYSQL_URL,
          database: config.DB_NAME,
          flavor: await ensureDatabase(config.MYSQL_URL, config.DB_NAME),
          entities: [UserGroup, Criterion, Membership, AuditEvent, OutboxMessage, InboxEntry],
          migrations: [MessagingTables1763700000000, UserGroups1763700000100],
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
  controllers: [GroupsController, MembersController],
  providers: [GroupsService, MembershipsService, LegacyCommandsConsumer],
})
export class AppModule {
  constructor(readiness: ReadinessChecks, health: MessagingHealth, relay: OutboxRelay) {
    registerMessagingReadiness((name, check) => readiness.add(name, check), health, relay);
  }
}
