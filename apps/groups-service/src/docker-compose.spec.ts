import { describeComposeService } from '@groups-sync/testing';
import { GroupsServiceConfig } from './groups-service.config';

describeComposeService('groups-service', GroupsServiceConfig);
