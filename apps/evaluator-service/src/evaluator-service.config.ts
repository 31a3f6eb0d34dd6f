import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ServiceConfig } from '@groups-sync/config';

export class EvaluatorServiceConfig extends ServiceConfig {
  override PORT = 3003;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'evaluator';

  /**
   * A read-only connection to the LMS's database (`mysql://reader:pw@replica:3306/edxapp`), where the
   * built-in criteria read learners' data. Unset: no group can be evaluated (each says so).
   */
  @IsOptional() @Matches(/^mysql:\/\/\S+\/[A-Za-z0-9_$]+$/, { message: 'must look like mysql://user[:password]@host[:port]/database' })
  LMS_DB_URL?: string = undefined;

  /** Packages that add criterion types (comma-separated module names, each exporting `criterionPlugins`). */
  @IsOptional() @IsString()
  CRITERIA_PLUGINS?: string = undefined;

  /** Members per `evaluation.snapshot` message. */
  @Type(() => Number) @IsInt() @Min(100) @Max(50_000)
  EVALUATION_CHUNK_SIZE = 5000;
}
