import {
  describeComposeService,
  describeProductionComposeService,
  describeTutorPluginService,
} from '@groups-sync/testing';
import { LegacySyncServiceConfig } from './legacy-sync-service.config';

describeComposeService('legacy-sync-service', LegacySyncServiceConfig);
describeProductionComposeService('legacy-sync-service', LegacySyncServiceConfig);
describeTutorPluginService('legacy-sync-service', LegacySyncServiceConfig);
