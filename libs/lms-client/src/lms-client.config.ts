import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { ServiceConfig } from '@groups-sync/config';

/** Settings of a service that calls the LMS's REST APIs as an OAuth2 client (client_credentials grant). */
export class LmsClientConfig extends ServiceConfig {
  @Matches(/^https?:\/\/\S+$/, { message: 'must be the LMS root URL, e.g. https://lms.example.com' })
  LMS_BASE_URL = 'http://127.0.0.1:18000';

  @IsString() @MinLength(1)
  LMS_OAUTH_CLIENT_ID = 'groups-sync';

  @IsString() @MinLength(1)
  LMS_OAUTH_CLIENT_SECRET = 'groups-sync-secret';

  @Type(() => Number) @IsInt() @Min(100) @Max(120_000)
  LMS_TIMEOUT_MS = 10_000;
}
