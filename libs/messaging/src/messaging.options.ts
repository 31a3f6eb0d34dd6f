import { ServiceConfig } from '@groups-sync/config';
import { KafkaSettings, TopicReplication } from './kafka/kafka-client';

/** Where the LMS's events come from: event-bus-kafka, event-bus-redis (Tutor's default), or both while moving from one to the other. */
export type LmsEventBus = 'kafka' | 'redis' | 'both';

export interface MessagingOptions {
  /** Service name: Kafka client id, `ce_source`, relay lease name. */
  service: string;
  brokers: string[];
  /** SASL_SSL and its credentials (event-bus-kafka's settings); PLAINTEXT when unset. */
  kafkaSecurity?: Pick<KafkaSettings, 'securityProtocol' | 'apiKey' | 'apiSecret'>;
  /** Replication of the topics this service creates; one broker's when unset. */
  topicReplication?: TopicReplication;
  topicPrefix?: string | null;
  /** retention.ms of the dead-letter topics this service creates; 30 days when unset. */
  deadLetterRetentionMs?: number;
  schemaRegistryUrl: string;
  /** Basic auth with the registry (event-bus-kafka's EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY / _SECRET). */
  schemaRegistryAuth?: { key: string; secret: string };
  /** Services that own state publish through an outbox; the LMS emulator publishes directly. */
  outbox: boolean;
  outboxPollIntervalMs?: number;
  /** RELAY_LEASE_SECONDS: how long a relay that stopped renewing keeps the others from publishing. */
  outboxLeaseSeconds?: number;
  consumerMaxAttempts: number;
  consumerBackoffMaxMs: number;
  /** How long a message waits for an unavailable dependency before it is dead-lettered; one hour when unset. */
  consumerOutageBudgetSeconds?: number;
  /** KAFKA_SESSION_TIMEOUT_MS / KAFKA_HEARTBEAT_INTERVAL_MS of the consumer groups; 6 s and 1 s when unset. */
  consumerSessionTimeoutMs?: number;
  consumerHeartbeatIntervalMs?: number;
  /** KAFKA_FETCH_MAX_WAIT_MS: how long an idle fetch waits at the broker; 20 ms when unset. */
  consumerFetchMaxWaitMs?: number;
  /** The bus the LMS publishes on; the services' own topics are always on Kafka. Kafka when unset. */
  lmsEventBus?: LmsEventBus;
  /** EVENT_BUS_REDIS_CONNECTION_URL, when the LMS publishes to Redis streams. */
  redisUrl?: string;
  /** Names this process among the readers of a Redis consumer group. */
  instanceId?: string;
  /** How long a dead instance's streams wait before another instance takes them over. */
  streamLeaseMs?: number;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
export const KAFKA = Symbol('KAFKA');

/** Between attempts to reach a broker (or start a consumer) that was down at boot: 1 s doubling to 30 s. */
export function bootRetryDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(attempt, 10));
}

/** The usual options from a service's validated config. */
export function messagingOptions(
  service: string,
  config: ServiceConfig,
  options: { outbox: boolean },
): MessagingOptions {
  return {
    service,
    brokers: config.KAFKA_BROKERS.split(','),
    kafkaSecurity: {
      securityProtocol: config.KAFKA_SECURITY_PROTOCOL as KafkaSettings['securityProtocol'],
      apiKey: config.EVENT_BUS_KAFKA_API_KEY,
      apiSecret: config.EVENT_BUS_KAFKA_API_SECRET,
    },
    topicReplication: {
      replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
      minInsyncReplicas: config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS,
    },
    topicPrefix: config.EVENT_BUS_TOPIC_PREFIX,
    deadLetterRetentionMs: config.DEAD_LETTER_RETENTION_DAYS * 86_400_000,
    schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
    schemaRegistryAuth:
      config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY && config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET
        ? {
            key: config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY,
            secret: config.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET,
          }
        : undefined,
    outbox: options.outbox,
    outboxPollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    outboxLeaseSeconds: config.RELAY_LEASE_SECONDS,
    consumerMaxAttempts: config.CONSUMER_MAX_ATTEMPTS,
    consumerBackoffMaxMs: config.CONSUMER_BACKOFF_MAX_MS,
    consumerOutageBudgetSeconds: config.CONSUMER_OUTAGE_BUDGET_SECONDS,
    consumerSessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    consumerHeartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    consumerFetchMaxWaitMs: config.KAFKA_FETCH_MAX_WAIT_MS,
    lmsEventBus: config.LMS_EVENT_BUS as LmsEventBus,
    redisUrl: config.EVENT_BUS_REDIS_CONNECTION_URL,
    instanceId: config.INSTANCE_ID,
  };
}
