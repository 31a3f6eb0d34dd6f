import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidationArguments,
} from 'class-validator';
import {
  BothOrNeither,
  DEPLOYMENT_ENVIRONMENTS,
  DevelopmentDefault,
  InProduction,
  NotAbove,
} from './config-validators';

/** What every service reads: HTTP port, MySQL, Kafka, schema registry, logging. */
export class ServiceConfig {
  /**
   * `production` (the Docker image's): no development default applies (secrets and endpoints must be
   * given, each also as `<NAME>_FILE`), MySQL needs a password, the JWKS is fetched over https only.
   */
  @IsIn(DEPLOYMENT_ENVIRONMENTS, { message: `must be one of ${DEPLOYMENT_ENVIRONMENTS.join(', ')}` })
  NODE_ENV: string = 'development';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  /**
   * Operations port, on HOST beside PORT: /metrics and the detailed probes (/health/consumers,
   * /health/ready with details). For Prometheus and operators on the private network; never publish it.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  @DiffersFrom('PORT')
  OPS_PORT = 9300;

  @DevelopmentDefault()
  @Matches(/^mysql:\/\/[^\s]+$/, { message: 'must look like mysql://user[:password]@host[:port]' })
  @InProduction(
    (url) => /^mysql:\/\/[^:@/\s]+:[^@/\s]+@/.test(String(url)),
    'must carry a password: mysql://user:password@host[:port]',
  )
  MYSQL_URL = 'mysql://root@127.0.0.1:3306';

  /**
   * Migrate the schema at start, under a lock (replicas start together). False where a migrate step
   * runs first (`npm run migrate`, the production stack's `migrate`): the service's user then needs no
   * DDL, and a schema with migrations still pending stops the boot.
   */
  @Transform(({ value }) => (({ true: true, false: false }) as Record<string, boolean>)[String(value ?? true)] ?? value)
  @IsBoolean()
  DB_MIGRATIONS_RUN = true;

  /**
   * Connections to the service's schema. The default is the work that holds one: the consumers
   * (two per service at most, each taking up to 3 partitions at once: 6), the outbox relay's lease,
   * an open evaluation run, and 8 for the API. Raise it with the consumers' partitions or the API's load.
   */
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(200)
  DB_POOL_SIZE = 16;

  /** A query waiting longer than this for a free connection fails (DB_POOL_TIMEOUT) instead of hanging. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  DB_POOL_ACQUIRE_TIMEOUT_MS = 20_000;

  /**
   * The server stops a statement running longer (MariaDB max_statement_time, every statement;
   * MySQL max_execution_time, SELECTs only). 0, the default: no limit (an evaluation's long
   * transaction and the migrations must not be cut short by a guess).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  DB_STATEMENT_TIMEOUT_MS = 0;

  /** Comma-separated host:port list (event-bus-kafka's EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS). */
  @DevelopmentDefault()
  @Matches(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, { message: 'must be a comma-separated list of host:port' })
  KAFKA_BROKERS = '127.0.0.1:9092';

  /**
   * PLAINTEXT or SASL_SSL (SASL PLAIN over TLS). Unset: SASL_SSL when EVENT_BUS_KAFKA_API_KEY and
   * EVENT_BUS_KAFKA_API_SECRET are set, as event-bus-kafka decides, else PLAINTEXT.
   */
  @IsOptional()
  @IsIn(['PLAINTEXT', 'SASL_SSL'])
  @KafkaCredentialsFit()
  KAFKA_SECURITY_PROTOCOL?: string = undefined;

  /** The SASL PLAIN username (a Confluent Cloud API key), as event-bus-kafka's setting of the same name. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @BothOrNeither('EVENT_BUS_KAFKA_API_SECRET')
  EVENT_BUS_KAFKA_API_KEY?: string = undefined;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @BothOrNeither('EVENT_BUS_KAFKA_API_KEY')
  EVENT_BUS_KAFKA_API_SECRET?: string = undefined;

  /** Replicas of each topic this product creates (1 locally; 3 in production). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(32)
  KAFKA_TOPIC_REPLICATION_FACTOR = 1;

  /** `min.insync.replicas` of each topic created: what `acks=all` waits for (2 of 3 in production). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @NotAbove('KAFKA_TOPIC_REPLICATION_FACTOR')
  KAFKA_TOPIC_MIN_INSYNC_REPLICAS = 1;

  /** As in openedx/event-bus-kafka: topics are named `{prefix}-{topic}` when set. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._-]{1,100}$/, { message: 'may contain only letters, digits, ".", "_" and "-"' })
  EVENT_BUS_TOPIC_PREFIX?: string = undefined;

  /** event-bus-kafka's EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL. */
  @DevelopmentDefault()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL of a Confluent-compatible registry' })
  SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

  /** Basic auth with the registry, as event-bus-kafka's settings of the same names. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @BothOrNeither('EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET')
  EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY?: string = undefined;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @BothOrNeither('EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY')
  EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET?: string = undefined;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Attempts for a message that keeps failing transiently before it is dead-lettered. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  CONSUMER_MAX_ATTEMPTS = 10;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(600_000)
  CONSUMER_BACKOFF_MAX_MS = 30_000;

  /**
   * How long a message waits for an unavailable dependency (LMS timeouts, 429, 502-504, a lost
   * database), from its first failure, before it is dead-lettered and its partition moves on.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(7 * 86_400)
  CONSUMER_OUTAGE_BUDGET_SECONDS = 3600;

  /**
   * How long dead letters (which hold the event, with usernames and emails) are kept: the
   * dead-letter topics' retention.ms when they are created. An existing topic keeps its own.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(365)
  DEAD_LETTER_RETENTION_DAYS = 30;

  /**
   * How long the group coordinator waits for a consumer's heartbeat before it gives the consumer's
   * partitions to the others: what a `kill -9`ed instance's partitions stall for. 6 s is the
   * broker's group.min.session.timeout.ms by default; long handlers heartbeat while they run.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(300_000)
  KAFKA_SESSION_TIMEOUT_MS = 6000;

  /** How often consumers heartbeat; at most a third of the session, as Kafka advises. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @AtMostAThirdOf('KAFKA_SESSION_TIMEOUT_MS')
  KAFKA_HEARTBEAT_INTERVAL_MS = 1000;

  /**
   * How long the broker may hold a consumer's fetch when nothing is there. Short for latency (kafkajs
   * held fetches its whole wait although data had come: 200 changes/s took p50 250 ms end to end at
   * 250, 136 ms at 20); each idle consumer then asks 1000/this times a second, which costs CPU in
   * the service and the broker (a stack of four idle services: about half a core at 20 ms).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(5000)
  KAFKA_FETCH_MAX_WAIT_MS = 20;

  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(60_000)
  OUTBOX_POLL_INTERVAL_MS = 50;

  /**
   * The outbox relay's lease: the longest a dead, stopped or cut-off instance keeps the others from
   * publishing. Renewed every third of it; a holder stops sending when less than a third is left.
   */
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(600)
  RELAY_LEASE_SECONDS = 15;

  @IsString()
  INSTANCE_ID = `${process.pid}`;

  /**
   * Where the LMS publishes its events: `kafka` (event-bus-kafka), `redis` (event-bus-redis, what
   * Tutor configures), or `both` while a site moves from one to the other. Only the LMS's topics move:
   * this product's own topics stay on Kafka.
   */
  @IsIn(['kafka', 'redis', 'both'])
  @RedisUrlFitsBus()
  LMS_EVENT_BUS = 'kafka';

  /** event-bus-redis's setting: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. Needed unless LMS_EVENT_BUS is kafka. */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S*$/, {
    message: 'must look like redis://[[user]:password@]host[:port][/db] (or rediss:// for TLS)',
  })
  EVENT_BUS_REDIS_CONNECTION_URL?: string = undefined;

  /** Address the HTTP server binds; 127.0.0.1 unless deployed behind a proxy or in a container. */
  @IsString()
  HOST = '127.0.0.1';
}

/** A heartbeat interval that leaves the session room for two missed heartbeats. */
function AtMostAThirdOf(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'atMostAThirdOf',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        typeof value !== 'number' || value * 3 <= Number((args?.object as Record<string, unknown>)[other]),
      defaultMessage: () => `must be at most a third of ${other}`,
    },
  });
}

/** Two settings that must not hold the same value (two servers on one port). */
function DiffersFrom(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'differsFrom',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        value !== (args?.object as Record<string, unknown>)[other],
      defaultMessage: () => `must differ from ${other}`,
    },
  });
}

/** A bus that includes Redis needs its URL. */
function RedisUrlFitsBus(): PropertyDecorator {
  return ValidateBy({
    name: 'redisUrlFitsBus',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        value === 'kafka' || !!(args?.object as ServiceConfig).EVENT_BUS_REDIS_CONNECTION_URL,
      defaultMessage: () => "redis and both need EVENT_BUS_REDIS_CONNECTION_URL (event-bus-redis's setting)",
    },
  });
}

/** SASL_SSL needs the API key and secret; PLAINTEXT would never send them, so it refuses them. */
function KafkaCredentialsFit(): PropertyDecorator {
  return ValidateBy({
    name: 'kafkaCredentialsFit',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const config = args?.object as ServiceConfig;
        const credentials = !!config.EVENT_BUS_KAFKA_API_KEY && !!config.EVENT_BUS_KAFKA_API_SECRET;
        return value === 'SASL_SSL'
          ? credentials
          : !(config.EVENT_BUS_KAFKA_API_KEY || config.EVENT_BUS_KAFKA_API_SECRET);
      },
      defaultMessage: (args?: ValidationArguments) =>
        args?.value === 'SASL_SSL'
          ? 'SASL_SSL needs EVENT_BUS_KAFKA_API_KEY and EVENT_BUS_KAFKA_API_SECRET'
          : 'PLAINTEXT sends no credentials: unset EVENT_BUS_KAFKA_API_KEY/SECRET or use SASL_SSL',
    },
  });
}

/** Fails when both this field and `other` are set: one source of verification keys, never two. */
export function NotWith(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'notWith',
    constraints: [other],
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        value === undefined ||
        value === '' ||
        [undefined, ''].includes((args?.object as Record<string, unknown>)[other] as string),
      defaultMessage: (args?: ValidationArguments) => `set either ${args?.property} or ${other}, not both`,
    },
  });
}
