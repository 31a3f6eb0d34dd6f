import {
  describeComposeService,
  describeProductionComposeService,
  describeTutorPluginService,
} from '@groups-sync/testing';
import { EvaluatorServiceConfig } from './evaluator-service.config';

describeComposeService('evaluator-service', EvaluatorServiceConfig);
describeProductionComposeService('evaluator-service', EvaluatorServiceConfig);
describeTutorPluginService('evaluator-service', EvaluatorServiceConfig);
