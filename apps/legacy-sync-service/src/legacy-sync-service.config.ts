import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { ServiceConfig } from '@groups-sync/config';

export class LegacySyncServiceConfig extends ServiceConfig {
  override PORT = 3002;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'legacy_sync';

  @Matches(/^https?:\/\/\S+$/, { message: 'must be the LMS root URL, e.g. https://lms.example.com' })
  LMS_BASE_URL = 'http://127.0.0.1:18000';

  @IsString() @MinLength(1)
  LMS_OAUTH_CLIENT_ID = 'groups-sync';

  @IsString() @MinLength(1)
  LMS_OAUTH_CLIENT_SECRET = 'groups-sync-secret';

  @Type(() => Number) @IsInt() @Min(100) @Max(120_000)
  LMS_TIMEOUT_MS = 10_000;
}
