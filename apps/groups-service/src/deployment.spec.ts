import {
  describeComposeService,
  describeProductionComposeService,
  describeTutorPluginService,
} from '@groups-sync/testing';
import { GroupsServiceConfig } from './groups-service.config';

describeComposeService('groups-service', GroupsServiceConfig);
describeProductionComposeService('groups-service', GroupsServiceConfig);
describeTutorPluginService('groups-service', GroupsServiceConfig);
