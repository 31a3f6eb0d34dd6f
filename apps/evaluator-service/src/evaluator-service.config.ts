import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ServiceConfig } from '@groups-sync/config';

export class EvaluatorServiceConfig extends ServiceConfig {
  override PORT = 3003;
  override OPS_PORT = 9303;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'evaluator';

  /**
   * A read-only connection to the LMS's database (`mysql://reader:pw@replica:3306/edxapp`), where the
   * built-in criteria read learners' data. Unset: no group can be evaluated (each says so).
   */
  @IsOptional()
  @Matches(/^mysql:\/\/\S+\/[A-Za-z0-9_$]+$/, {
    message: 'must look like mysql://user[:password]@host[:port]/database',
  })
  LMS_DB_URL?: string = undefined;

  /**
   * How far behind the primary LMS_DB_URL's replica is taken to be when it cannot be asked (no
   * REPLICA MONITOR / REPLICATION CLIENT privilege): its reads are dated that far back.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3600)
  LMS_DB_ASSUMED_LAG_SECONDS = 30;

  /** Packages that add criterion types (comma-separated module names, each exporting `criterionPlugins`). */
  @IsOptional()
  @IsString()
  CRITERIA_PLUGINS?: string = undefined;

  /**
   * Aspects' ClickHouse, its HTTP interface (`http://clickhouse:8123`), where `days_since_last_activity`
   * reads learners' course visits. Unset: that type is not installed (groups using it say so).
   */
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: "must be the http(s) URL of ClickHouse's HTTP interface" })
  ASPECTS_CLICKHOUSE_URL?: string = undefined;

  /** A read-only user with SELECT on the two databases below (Aspects' report user, `ch_report`, has it). */
  @IsString()
  ASPECTS_CLICKHOUSE_USER = 'default';

  @IsOptional()
  @IsString()
  ASPECTS_CLICKHOUSE_PASSWORD?: string = undefined;

  /** Where Aspects' dbt models are (its DBT_PROFILE_TARGET_DATABASE). */
  @Matches(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
  ASPECTS_CLICKHOUSE_DATABASE = 'reporting';

  /** Where Aspects' event sink writes the LMS's tables, `external_id` among them (its ASPECTS_EVENT_SINK_DATABASE). */
  @Matches(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
  ASPECTS_EVENT_SINK_DATABASE = 'event_sink';

  /** Members per `evaluation.snapshot` message. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(50_000)
  EVALUATION_CHUNK_SIZE = 5000;
}
