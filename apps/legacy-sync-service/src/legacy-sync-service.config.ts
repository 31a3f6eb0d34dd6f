import { Matches } from 'class-validator';
import { LmsClientConfig } from '@groups-sync/lms-client';

export class LegacySyncServiceConfig extends LmsClientConfig {
  override PORT = 3002;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'legacy_sync';
}
