import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { loadConfig } from '@groups-sync/config';
import { InboxEntry, MessagingModule, MESSAGING_MIGRATIONS, OutboxMessage } from '@groups-sync/messaging';
import { ObservabilityModule } from '@groups-sync/observability';
import { databaseModule } from '@groups-sync/persistence';
import { Pagination } from './api/pagination';
import { AuditEvent } from './audit/audit-event.entity';
import { AuditService } from './audit/audit.service';
import { AuthModule } from '@groups-sync/auth';
import { GroupAccess } from './auth/group-access';
import { EvaluationChunk } from './evaluations/evaluation-chunk.entity';
import { EvaluationChunksJanitor } from './evaluations/evaluation-chunks.janitor';
import { EvaluationRuns } from './evaluations/evaluation-runs.service';
import { EvaluationSnapshotsConsumer } from './evaluations/evaluation-snapshots.consumer';
import { GroupsServiceConfig } from './groups-service.config';
import { Criterion } from './groups/criterion.entity';
import { GroupsController } from './groups/groups.controller';
import { GroupsService } from './groups/groups.service';
import { UserGroup } from './groups/user-group.entity';
import { LegacyCommandsConsumer } from './legacy-commands/legacy-commands.consumer';
import { CriterionTypesController } from './groups/criterion-types.controller';
import { MembersController } from './memberships/members.controller';
import { MembershipsSearchController } from './memberships/memberships-search.controller';
import { Membership } from './memberships/membership.entity';
import { MembershipQueries } from './memberships/membership-queries';
import { MembershipWriter } from './memberships/membership-writer';
import { MembershipsService } from './memberships/memberships.service';
import { LegacyObservations } from './legacy-commands/legacy-observations.applier';
import { SyncResults } from './legacy-commands/sync-results.applier';
import { UserGroupsController } from './memberships/user-groups.controller';
import { GroupCollections1763800000100 } from './migrations/1763800000100-group-collections.migration';
import { UserGroups1763700000100 } from './migrations/1763700000100-user-groups.migration';
import { UserAccounts1763900000100 } from './migrations/1763900000100-user-accounts.migration';
import { EvaluationChunks1763900000200 } from './migrations/1763900000200-evaluation-chunks.migration';
import { LegacyOrdering1764000000100 } from './migrations/1764000000100-legacy-ordering.migration';
import { EvaluationError1764200000100 } from './migrations/1764200000100-evaluation-error.migration';
import { CriterionTypes1764300000100 } from './migrations/1764300000100-criterion-types.migration';
import { RetiredUsers1764400000100 } from './migrations/1764400000100-retired-users.migration';
import { GroupIdCollation1764500000100 } from './migrations/1764500000100-group-id-collation.migration';
import { RetirementController } from './retirement/retirement.controller';
import { UserRetirementService } from './retirement/user-retirement.service';
import { CriterionCatalogue } from './groups/criterion-catalogue';
import { LmsAccountsClient } from './users/lms-accounts.client';
import { UserAccount } from './users/user-account.entity';
import { UserDirectory } from './users/user-directory';

export const SERVICE = 'groups-service';
export const config = loadConfig(GroupsServiceConfig);
/** Bulk member writes carry up to 10,000 users. */
export const HTTP_OPTIONS = { jsonBodyLimit: '5mb' };

@Module({
  imports: [
    ObservabilityModule.forRoot({ service: SERVICE, logLevel: config.LOG_LEVEL }),
    databaseModule({
      url: config.MYSQL_URL,
      database: config.DB_NAME,
      entities: [UserGroup, Criterion, Membership, AuditEvent, UserAccount, EvaluationChunk, OutboxMessage, InboxEntry],
      migrations: [...MESSAGING_MIGRATIONS, UserGroups1763700000100, GroupCollections1763800000100, UserAccounts1763900000100, EvaluationChunks1763900000200, LegacyOrdering1764000000100, EvaluationError1764200000100, CriterionTypes1764300000100, RetiredUsers1764400000100, GroupIdCollation1764500000100],
    }),
    MessagingModule.forService(SERVICE, config, { outbox: true }),
    AuthModule.forRoot(config),
    ScheduleModule.forRoot(),
  ],
  controllers: [GroupsController, CriterionTypesController, MembersController, MembershipsSearchController, UserGroupsController, RetirementController, LegacyCommandsConsumer, EvaluationSnapshotsConsumer],
  providers: [
    { provide: GroupsServiceConfig, useValue: config },
    GroupsService, UserDirectory, LmsAccountsClient, MembershipWriter, MembershipQueries, MembershipsService, LegacyObservations, SyncResults, AuditService, GroupAccess, EvaluationRuns, EvaluationChunksJanitor, CriterionCatalogue, Pagination, UserRetirementService],
})
export class AppModule {}
