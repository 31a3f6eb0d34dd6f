import { Type } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { LmsClientConfig } from '@groups-sync/lms-client';

export class LegacySyncServiceConfig extends LmsClientConfig {
  override PORT = 3002;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'legacy_sync';

  /** Learners per call of the cohorts API's add (it takes a list). */
  @Type(() => Number) @IsInt() @Min(1) @Max(10_000)
  LMS_COHORT_ADD_MAX_USERS = 100;

  /** LMS calls in flight at once for one batch (cohort adds and single removals). */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  LMS_CONCURRENCY = 4;
}
