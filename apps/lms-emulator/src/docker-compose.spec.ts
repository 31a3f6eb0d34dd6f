import { describeComposeService } from '@groups-sync/testing';
import { LmsEmulatorConfig } from './lms-emulator.config';

describeComposeService('lms-emulator', LmsEmulatorConfig);
