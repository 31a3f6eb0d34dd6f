import { Type } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { LmsClientConfig } from '@groups-sync/lms-client';

/** The LMS settings (LMS_BASE_URL, LMS_OAUTH_*) serve the user directory: usernames and emails to accounts; JWT_* its API's callers. */
export class GroupsServiceConfig extends LmsClientConfig {
  override PORT = 3001;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'groups_service';

  /** How long an account the LMS described is trusted before it is asked again. */
  @Type(() => Number) @IsInt() @Min(0) @Max(30 * 86_400)
  USER_DIRECTORY_TTL_SECONDS = 86_400;
}
