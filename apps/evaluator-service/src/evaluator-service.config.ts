import { Matches } from 'class-validator';
import { ServiceConfig } from '@groups-sync/config';

export class EvaluatorServiceConfig extends ServiceConfig {
  override PORT = 3003;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'evaluator';
}
