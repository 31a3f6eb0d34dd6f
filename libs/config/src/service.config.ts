import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy, ValidationArguments } from 'class-validator';

/** What every service reads: HTTP port, MySQL, Kafka, schema registry, logging. */
export class ServiceConfig {
  @Type(() => Number) @IsInt() @Min(1) @Max(65535)
  PORT = 3000;

  @Matches(/^mysql:\/\/[^\s]+$/, { message: 'must look like mysql://user[:password]@host[:port]' })
  MYSQL_URL = 'mysql://root@127.0.0.1:3306';

  /** Comma-separated host:port list. */
  @Matches(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, { message: 'must be a comma-separated list of host:port' })
  KAFKA_BROKERS = '127.0.0.1:9092';

  /** As in openedx/event-bus-kafka: topics are named `{prefix}-{topic}` when set. */
  @IsOptional() @Matches(/^[A-Za-z0-9._-]{1,100}$/, { message: 'may contain only letters, digits, ".", "_" and "-"' })
  EVENT_BUS_TOPIC_PREFIX?: string = undefined;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL of a Confluent-compatible registry' })
  SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Attempts for a message that keeps failing transiently before it is dead-lettered. */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  CONSUMER_MAX_ATTEMPTS = 10;

  @Type(() => Number) @IsInt() @Min(10) @Max(600_000)
  CONSUMER_BACKOFF_MAX_MS = 30_000;

  @Type(() => Number) @IsInt() @Min(5) @Max(60_000)
  OUTBOX_POLL_INTERVAL_MS = 50;

  @IsString()
  INSTANCE_ID = `${process.pid}`;

  /** Address the HTTP server binds; 127.0.0.1 unless deployed behind a proxy or in a container. */
  @IsString()
  HOST = '127.0.0.1';
}

/** Fails when both this field and `other` are set: one source of verification keys, never two. */
export function NotWith(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'notWith',
    constraints: [other],
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        value === undefined || value === '' || [undefined, ''].includes((args?.object as Record<string, unknown>)[other] as string),
      defaultMessage: (args?: ValidationArguments) => `set either ${args?.property} or ${other}, not both`,
    },
  });
}
