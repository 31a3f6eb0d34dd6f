import { INestApplication, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingModule, OutboxMessage } from '@groups-sync/messaging';
import { ObservabilityModule } from '@groups-sync/observability';
import { databaseModule } from '@groups-sync/persistence';
import { Pagination } from './api/pagination';
import { AuditEvent } from './audit/audit-event.entity';
import { AuditService } from './audit/audit.service';
import { AuthModule, JwtVerifier, verifiedTokenBeforeBody } from '@groups-sync/auth';
import { GroupAccess } from './auth/group-access';
import { EvaluationChunk } from './evaluations/evaluation-chunk.entity';
import { EvaluationChunkRepository } from './evaluations/evaluation-chunk.repository';
import { EvaluationChunksJanitor } from './evaluations/evaluation-chunks.janitor';
import { EvaluationRuns } from './evaluations/evaluation-runs.service';
import { EvaluationSnapshotsConsumer } from './evaluations/evaluation-snapshots.consumer';
import { GroupsServiceConfig } from './groups-service.config';
import { GROUPS_SERVICE_MIGRATIONS } from './migrations';
import { Criterion } from './groups/criterion.entity';
import { GroupsController } from './groups/groups.controller';
import { GroupsService } from './groups/groups.service';
import { UserGroup } from './groups/user-group.entity';
import { LegacyCommandsConsumer } from './legacy-commands/legacy-commands.consumer';
import { CriterionTypesController } from './groups/criterion-types.controller';
import { MembersController } from './memberships/members.controller';
import { MembershipsSearchController } from './memberships/memberships-search.controller';
import { Membership } from './memberships/membership.entity';
import { MembershipRepository } from './memberships/membership.repository';
import { MembershipWriter } from './memberships/membership-writer';
import { MembershipsService } from './memberships/memberships.service';
import { LegacyObservations } from './legacy-commands/legacy-observations.applier';
import { SyncResults } from './legacy-commands/sync-results.applier';
import { UserGroupsController } from './memberships/user-groups.controller';
import { MeController } from './auth/me.controller';
import { LmsCourseRuns } from './reruns/lms-course-runs';
import { RerunsController } from './reruns/reruns.controller';
import { RerunsPoller } from './reruns/reruns.poller';
import { RerunsService } from './reruns/reruns.service';
import { RetirementController } from './retirement/retirement.controller';
import { UserRetirementService } from './retirement/user-retirement.service';
import { CriterionCatalogue } from './groups/criterion-catalogue';
import { LmsAccountsClient } from './users/lms-accounts.client';
import { UserAccount } from './users/user-account.entity';
import { UserDirectory } from './users/user-directory';

export const SERVICE = 'groups-service';
export const config = loadConfig(GroupsServiceConfig);
/** Small bodies everywhere but on bulk member writes (up to 10,000 users) and the memberships search. */
export const HTTP_OPTIONS = {
  jsonBodyLimit: '100kb',
  largeJsonBodies: {
    limit: '5mb',
    routes: [
      'POST /api/user-groups/v1/groups/:id/members',
      'POST /api/user-groups/v1/groups/:id/members/remove',
      'POST /api/user-groups/v1/memberships/search',
    ],
    // Megabytes are read only for a caller whose token is valid.
    authenticate: (app: INestApplication) => verifiedTokenBeforeBody(app.get(JwtVerifier)),
  },
};

@Module({
  imports: [
    ObservabilityModule.forRoot({ service: SERVICE, logLevel: config.LOG_LEVEL }),
    databaseModule({
      url: config.MYSQL_URL,
      database: config.DB_NAME,
      entities: [UserGroup, Criterion, Membership, AuditEvent, UserAccount, EvaluationChunk, OutboxMessage, InboxEntry],
      migrations: GROUPS_SERVICE_MIGRATIONS,
      migrationsRun: config.DB_MIGRATIONS_RUN,
      pool: config,
    }),
    MessagingModule.forService(SERVICE, config, { outbox: true }),
    AuthModule.forRoot(config),
    ScheduleModule.forRoot(),
  ],
  controllers: [
    GroupsController,
    CriterionTypesController,
    MembersController,
    MembershipsSearchController,
    UserGroupsController,
    MeController,
    RerunsController,
    RetirementController,
    LegacyCommandsConsumer,
    EvaluationSnapshotsConsumer,
  ],
  providers: [
    { provide: GroupsServiceConfig, useValue: config },
    GroupsService,
    UserDirectory,
    LmsAccountsClient,
    MembershipWriter,
    MembershipRepository,
    MembershipsService,
    LegacyObservations,
    SyncResults,
    AuditService,
    GroupAccess,
    EvaluationRuns,
    EvaluationChunkRepository,
    EvaluationChunksJanitor,
    CriterionCatalogue,
    Pagination,
    UserRetirementService,
    LmsCourseRuns,
    RerunsService,
    RerunsPoller,
  ],
})
export class AppModule {}
