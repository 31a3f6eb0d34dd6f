import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { LmsClientConfig } from '@groups-sync/lms-client';

/** The LMS settings (LMS_BASE_URL, LMS_OAUTH_*) serve the user directory: usernames and emails to accounts; JWT_* its API's callers. */
export class GroupsServiceConfig extends LmsClientConfig {
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

  override PORT = 3001;
  override OPS_PORT = 9301;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'groups_service';

  /** How long an account the LMS described is trusted before it is asked again. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(30 * 86_400)
  USER_DIRECTORY_TTL_SECONDS = 86_400;

  /**
   * How long one request may wait for the LMS accounts API (a 10,000-user add is 10,000 by-id calls,
   * and a throttled LMS asks to come back in 60 s): users it has not answered for by then are
   * `refused`, to be sent again, and no Retry-After is waited past it.
   */
  @Type(() => Number)
  @IsInt()
  @Min(500)
  @Max(120_000)
  USER_DIRECTORY_DEADLINE_MS = 30_000;

  /** Calls to the LMS accounts API at once, all requests of this instance together. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  LMS_ACCOUNTS_CALLS_IN_FLIGHT = 16;

  /**
   * This API's root as its clients reach it (behind a proxy, its public URL, with any path prefix):
   * pagination links start with it, never with the request's Host header. Unset: http://127.0.0.1:PORT.
   */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s?#]+$/, {
    message: 'must be an http(s) URL without query or fragment, e.g. https://groups.example.com',
  })
  PUBLIC_BASE_URL?: string = undefined;

  /** How often Studio's finished reruns are read from the LMS's database (LMS_DB_URL); 0: never (then POST /reruns). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86_400)
  RERUNS_POLL_SECONDS = 60;

  /** How far back the first read of the LMS's reruns starts, in hours (older reruns are left alone). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(8_760)
  RERUNS_LOOKBACK_HOURS = 24;

  /** The LMS user whose token Open edX's retirement pipeline calls with (the LMS's RETIREMENT_SERVICE_WORKER_USERNAME): the only caller of POST /retire. */
  @IsString()
  @MinLength(1)
  RETIREMENT_SERVICE_WORKER_USERNAME = 'retirement_service_worker';

  /**
   * A refresh packs its membership events a thousand to an outbox row (ADR 0009). When instances
   * are upgraded one by one from a version without packed rows, false until all run this one: an
   * older instance's relay cannot publish a packed row and parks it (release it afterwards).
   */
  @Transform(({ value }) => value === undefined || value === true || value === 'true')
  @IsBoolean()
  OUTBOX_PACK_EVENTS = true;

  /**
   * A refresh's chunks are applied as they arrive, in one transaction held until its last chunk
   * (ADR 0010), so the apply overlaps the evaluation. False: each run is applied when its last
   * chunk is in, from the staged chunks.
   */
  @Transform(({ value }) => value === undefined || value === true || value === 'true')
  @IsBoolean()
  EVALUATION_APPLY_AS_CHUNKS_ARRIVE = true;

  /**
   * An open run whose next chunk does not come within this time, or that stays open longer than
   * the maximum, is closed (its locks released); its last chunk then applies the staged chunks.
   * Both stay below the database's lock wait (innodb_lock_wait_timeout, 50 s by default), so a
   * writer waiting for the run's group gets it before giving up.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(30_000)
  EVALUATION_OPEN_RUN_IDLE_MS = 5_000;

  @Type(() => Number)
  @IsInt()
  @Min(1_000)
  @Max(45_000)
  EVALUATION_OPEN_RUN_MAX_MS = 30_000;
}
