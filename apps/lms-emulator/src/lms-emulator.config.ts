import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsString, Matches, Min, MinLength } from 'class-validator';
import { DevelopmentDefault, InProduction, ServiceConfig } from '@groups-sync/config';

export class LmsEmulatorConfig extends ServiceConfig {
  override PORT = 18000;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'lms_emulator';

  /** OAuth2 client the sync service uses (client_credentials grant), as an LMS operator would register it. */
  @IsString()
  @MinLength(1)
  LMS_OAUTH_CLIENT_ID = 'groups-sync';

  @DevelopmentDefault()
  @IsString()
  @MinLength(1)
  LMS_OAUTH_CLIENT_SECRET = 'groups-sync-secret';

  /** The OAuth2 application's service user (global staff): a client_credentials token names it in `preferred_username`. */
  @IsString()
  @MinLength(1)
  LMS_OAUTH_CLIENT_USERNAME = 'groups_sync_worker';

  /** Scopes the operator added to OAUTH2_PROVIDER['SCOPES'] (e.g. `user_groups:read user_groups:write`); none on an unmodified LMS. */
  @IsString()
  LMS_OAUTH_EXTRA_SCOPES = '';

  /** JWT_AUTH['JWT_SECRET_KEY']: signs the HS256 tokens; services verify them with it (JWT_ISSUERS). */
  @DevelopmentDefault()
  @IsString()
  @MinLength(16)
  LMS_JWT_SECRET_KEY = 'lms-emulator-jwt-secret-key-for-development';

  /** `iss` of the JWTs it issues (the LMS's is `<LMS root>/oauth2`); services verifying them must expect it. */
  @Matches(/^\S+$/)
  LMS_JWT_ISSUER = 'http://127.0.0.1:18000/oauth2';

  @Matches(/^\S+$/)
  LMS_JWT_AUDIENCE = 'openedx';

  /**
   * Runs as a test peer: the fixture endpoints (`/emulator/*`, among them `/emulator/tokens`, which
   * mints any user's token, administrators' too) exist only then. Never with NODE_ENV=production.
   */
  @Transform(({ value }) => value === true || value === 'true')
  @IsBoolean()
  @InProduction((on) => on !== true, 'must be false: a test peer mints tokens for anyone')
  LMS_EMULATOR_TEST_PEER = false;

  /** event-bus-redis's EVENT_BUS_REDIS_STREAM_MAX_LEN: each XADD trims its stream to about this many entries. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  EVENT_BUS_REDIS_STREAM_MAX_LEN = 10_000;

  /** The enrollment API's EnrollmentUserThrottle (staff 120 requests a minute, others 40), as the LMS. */
  @Transform(({ value }) => value === undefined || value === true || value === 'true')
  @IsBoolean()
  LMS_ENROLLMENT_API_THROTTLE = true;

  /** Emit COHORT_MEMBERSHIP_CHANGED like an LMS with the event bus configured. */
  @Transform(({ value }) => value === true || value === 'true')
  @IsBoolean()
  EMIT_EVENTS = true;

  /**
   * Send the proposed TEAM_MEMBERSHIP_ADDED / _REMOVED events (edx-platform sends no team event).
   * The start value of `emit_team_events` in /emulator/settings.
   */
  @Transform(({ value }) => value === true || value === 'true')
  @IsBoolean()
  EMIT_TEAM_EVENTS = false;

  /**
   * Send the proposed COHORT_MEMBERSHIP_REMOVED when a learner leaves a cohort, as an LMS with the
   * companion plugin (deploy/openedx-plugin) does; edx-platform alone sends nothing. The start
   * value of `emit_cohort_removal_events` in /emulator/settings.
   */
  @Transform(({ value }) => value === true || value === 'true')
  @IsBoolean()
  EMIT_COHORT_REMOVAL_EVENTS = false;

  /**
   * Let the teams API take `Authorization: JWT` tokens too, as ADR 0034 (proposed) would have it.
   * Off: the teams views authenticate as edx-platform's do today, opaque Bearer tokens only.
   * The start value of `teams_api_accepts_jwt` in /emulator/settings.
   */
  @Transform(({ value }) => value === true || value === 'true')
  @IsBoolean()
  TEAMS_API_ACCEPTS_JWT = false;
}
