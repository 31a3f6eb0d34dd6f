import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from '@groups-sync/auth';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingModule, OutboxMessage } from '@groups-sync/messaging';
import { ObservabilityModule } from '@groups-sync/observability';
import { databaseModule } from '@groups-sync/persistence';
import { LegacyKinds, legacyKindProviders } from './kinds/legacy-kinds.registry';
import { LegacySyncServiceConfig } from './legacy-sync-service.config';
import { LEGACY_SYNC_MIGRATIONS } from './migrations';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DeadLetters } from './dead-letters/dead-letters.service';
import { LegacyLink } from './links/legacy-link.entity';
import { PendingLmsWrite } from './links/pending-lms-write.entity';
import { PendingWritesJanitor } from './links/pending-writes.janitor';
import { CohortMembershipConsumer } from './lms-events/cohort-membership.consumer';
import { EnrollmentTrackConsumer } from './lms-events/enrollment-track.consumer';
import { TeamMembershipConsumer } from './lms-events/team-membership.consumer';
import { LmsCohortsClient } from './lms/lms-cohorts.client';
import { LmsEnrollmentsClient } from './lms/lms-enrollments.client';
import { LmsTeamsClient } from './lms/lms-teams.client';
import { LmsObservations } from './lms-events/lms-observations.pipeline';
import { LmsChangesSender } from './kinds/lms-changes.sender';
import { LmsWritePauses } from './lms-writes/lms-write-pauses';
import { LmsWritesController } from './lms-writes/lms-writes.controller';
import { DriftRepairs } from './reconciliation/drift-repairs.service';
import { GroupMembershipsClient } from './reconciliation/group-memberships.client';
import { LmsDatabase } from './lms/lms-database';
import { Reconciler } from './reconciliation/reconciler';
import { ReconciliationRuns } from './reconciliation/reconciliation-runs';
import { StreamGapsListener } from './reconciliation/stream-gaps.listener';
import { ReconciliationsController } from './reconciliation/reconciliations.controller';
import { RetirementController } from './retirement/retirement.controller';
import { UserRetirementService } from './retirement/user-retirement.service';
import { StatusController } from './status/status.controller';
import { LegacyWrites } from './user-group-events/legacy-writes.service';
import { UserGroupEventsConsumer } from './user-group-events/user-group-events.consumer';

export const SERVICE = 'legacy-sync-service';
export const config = loadConfig(LegacySyncServiceConfig);

@Module({
  imports: [
    ScheduleModule.forRoot(),
    ObservabilityModule.forRoot({ service: SERVICE, logLevel: config.LOG_LEVEL }),
    databaseModule({
      url: config.MYSQL_URL,
      database: config.DB_NAME,
      entities: [LegacyLink, PendingLmsWrite, OutboxMessage, InboxEntry],
      migrations: LEGACY_SYNC_MIGRATIONS,
      migrationsRun: config.DB_MIGRATIONS_RUN,
      pool: config,
    }),
    MessagingModule.forService(SERVICE, config, { outbox: true }),
    AuthModule.forRoot(config),
  ],
  controllers: [
    UserGroupEventsConsumer,
    CohortMembershipConsumer,
    EnrollmentTrackConsumer,
    TeamMembershipConsumer,
    ReconciliationsController,
    DeadLettersController,
    LmsWritesController,
    StatusController,
    RetirementController,
  ],
  providers: [
    { provide: LegacySyncServiceConfig, useValue: config },
    LmsCohortsClient,
    LmsEnrollmentsClient,
    LmsTeamsClient,
    LmsDatabase,
    ...legacyKindProviders,
    LegacyKinds,
    LmsChangesSender,
    LmsObservations,
    LegacyWrites,
    PendingWritesJanitor,
    LmsWritePauses,
    GroupMembershipsClient,
    DriftRepairs,
    Reconciler,
    ReconciliationRuns,
    StreamGapsListener,
    DeadLetters,
    UserRetirementService,
  ],
})
export class AppModule {}
