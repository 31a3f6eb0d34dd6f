import { CourseDetailsController } from './enrollments/course-details.controller';
import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { json } from 'express';
import { loadConfig } from '@groups-sync/config';
import { MessagingModule } from '@groups-sync/messaging';
import { ObservabilityModule } from '@groups-sync/observability';
import { databaseModule } from '@groups-sync/persistence';
import { AccountsController } from './accounts/accounts.controller';
import { DrfAuthentication } from './auth/drf-authentication';
import { JwtIssuer } from './auth/jwt-issuer';
import { OAuthController } from './auth/oauth.controller';
import { SessionController } from './auth/session.controller';
import { StaffGuard, TokenGuard } from './auth/token.guard';
import { CohortSettingsController } from './cohorts/cohort-settings.controller';
import { CohortsController } from './cohorts/cohorts.controller';
import { CohortsService } from './cohorts/cohorts.service';
import { CourseSettingsService, KnownCourseGuard } from './cohorts/course-settings.service';
import { EnrollmentFixturesController } from './enrollments/enrollment-fixtures.controller';
import { EnrollmentsApiGuard, EnrollmentsController } from './enrollments/enrollments.controller';
import { RolesController } from './enrollments/roles.controller';
import { EnrollmentThrottle } from './enrollments/enrollment-throttle';
import { EnrollmentsService } from './enrollments/enrollments.service';
import { EmulatorSettingsController } from './events/emulator-settings.controller';
import { EmulatorSwitches } from './events/emulator-switches';
import { EventFaults } from './events/event-faults';
import { LmsEventsPublisher } from './events/lms-events.publisher';
import { LmsEmulatorConfig } from './lms-emulator.config';
import { LmsTables1763700000200 } from './migrations/1763700000200-lms-tables.migration';
import { CourseCohortSettings1764100000200 } from './migrations/1764100000200-course-cohort-settings.migration';
import { CohortCourseIndex1764100000210 } from './migrations/1764100000210-cohort-course-index.migration';
import { LearnerData1764200000200 } from './migrations/1764200000200-learner-data.migration';
import { Teams1764300000200 } from './migrations/1764300000200-teams.migration';
import { CourseReruns1764600000200 } from './migrations/1764600000200-course-reruns.migration';
import { TeamMembershipController } from './teams/team-membership.controller';
import { TeamsAccess } from './teams/teams-access';
import { TeamsAuthGuard } from './teams/teams-auth.guard';
import { TeamsConfigService } from './teams/teams-config.service';
import { TeamsFixturesController } from './teams/teams-fixtures.controller';
import { TeamsController } from './teams/teams.controller';
import { TeamsService } from './teams/teams.service';
import { TopicsController } from './teams/topics.controller';
import { EmulatorController } from './users/emulator.controller';

export const config = loadConfig(LmsEmulatorConfig);

@Module({
  imports: [
    ObservabilityModule.forRoot({ service: 'lms-emulator', logLevel: config.LOG_LEVEL }),
    databaseModule({
      url: config.MYSQL_URL,
      database: config.DB_NAME,
      entities: [],
      migrations: [
        LmsTables1763700000200,
        CourseCohortSettings1764100000200,
        CohortCourseIndex1764100000210,
        LearnerData1764200000200,
        Teams1764300000200,
        CourseReruns1764600000200,
      ],
    }),
    MessagingModule.forService('lms', config, { outbox: false }),
  ],
  controllers: [
    OAuthController,
    AccountsController,
    CohortsController,
    CohortSettingsController,
    EnrollmentsController,
    RolesController,
    CourseDetailsController,
    TeamsController,
    TopicsController,
    TeamMembershipController,
    // Fixtures, faults, switches and any user's token: only for a test peer (404 otherwise).
    ...(config.LMS_EMULATOR_TEST_PEER
      ? [
          EmulatorController,
          EmulatorSettingsController,
          EnrollmentFixturesController,
          TeamsFixturesController,
          // A password-less sign-in for browser tests and the local stack's User Groups page.
          SessionController,
        ]
      : []),
  ],
  providers: [
    { provide: LmsEmulatorConfig, useValue: config },
    JwtIssuer,
    TokenGuard,
    StaffGuard,
    EnrollmentThrottle,
    KnownCourseGuard,
    CourseSettingsService,
    CohortsService,
    EventFaults,
    LmsEventsPublisher,
    EmulatorSwitches,
    DrfAuthentication,
    EnrollmentsApiGuard,
    EnrollmentsService,
    TeamsAuthGuard,
    TeamsAccess,
    TeamsConfigService,
    TeamsService,
  ],
})
export class AppModule implements NestModule {
  /** TeamsDetailView's PATCH takes only `application/merge-patch+json` (MergePatchParser); parse it as JSON. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(json({ type: 'application/merge-patch+json' })).forRoutes(TeamsController);
  }
}
