import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { LmsClientConfig } from '@groups-sync/lms-client';

export class LegacySyncServiceConfig extends LmsClientConfig {
  /**
   * Origins of pages on another host that call this API in a browser with the LMS's JWT cookies
   * (comma-separated, e.g. the User Groups page at https://apps.lms.example.com): answered with
   * CORS headers that allow credentials. Unset: none (same-origin pages need none).
   */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/,]+(,https?:\/\/[^\s/,]+)*$/, {
    message: 'must be comma-separated origins (scheme and host, no path), e.g. https://apps.lms.example.com',
  })
  CORS_ORIGINS?: string = undefined;

  override PORT = 3002;
  override OPS_PORT = 9302;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'legacy_sync';

  /** Learners per call of the cohorts API's add (it takes a list). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  LMS_COHORT_ADD_MAX_USERS = 100;

  /** LMS calls in flight at once for one batch (cohort adds and single removals). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  LMS_CONCURRENCY = 4;

  /** groups-service's API: reconciliation reads the linked groups' memberships there. */
  @Matches(/^https?:\/\/\S+$/, { message: 'must be the root URL of groups-service, e.g. http://groups-service:3001' })
  GROUPS_SERVICE_URL = 'http://127.0.0.1:3001';

  // LMS_DB_URL (LmsClientConfig): with it, reconciliation reads the `course_groups_*` tables directly,
  // which is what makes site-wide runs fast; without it, the cohorts REST API.

  /** A site-wide reconciliation this often (minutes); 0 turns the schedule off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(7 * 24 * 60)
  RECONCILE_EVERY_MINUTES = 60;

  /**
   * Team-linked groups are reconciled this often (seconds; 0: only with the site-wide run): the LMS
   * emits no team events, so this is how team changes made in the LMS reach the groups.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86_400)
  RECONCILE_TEAMS_EVERY_SECONDS = 60;

  /**
   * The LMS emits the proposed `team_membership.added|removed.v1` events (an LMS patched to, see the
   * README): our team writes then have echoes, recognised as such.
   */
  @Transform(({ value }) => value === true || value === 'true')
  @IsBoolean()
  LMS_EMITS_TEAM_EVENTS = false;

  /** A write still pending this long never reached the LMS (it was dead-lettered or lost): reconciliation sends it again. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(7 * 86_400)
  RECONCILE_PENDING_GRACE_SECONDS = 600;

  /** The LMS user whose token Open edX's retirement pipeline calls with (the LMS's RETIREMENT_SERVICE_WORKER_USERNAME): the only caller of POST /retire. */
  @IsString()
  @MinLength(1)
  RETIREMENT_SERVICE_WORKER_USERNAME = 'retirement_service_worker';
}
