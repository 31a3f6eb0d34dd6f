import { Logger } from '@nestjs/common';
import { BrokerProbe } from './broker-probe';
import { Admin, AssignerProtocol, ITopicConfig, Kafka, KafkaConfig, logLevel, LogEntry } from 'kafkajs';
import { TopicSpec } from '@groups-sync/contracts';
// Before any client connects: kafkajs's request queues otherwise wake ~1,000 times a second when idle.
import './request-queue-wakeups';

export interface KafkaSettings {
  clientId: string;
  brokers: string[];
  /** Unset: SASL_SSL when an API key and secret are given (event-bus-kafka's rule), else PLAINTEXT. */
  securityProtocol?: 'PLAINTEXT' | 'SASL_SSL';
  /** SASL PLAIN username and password: event-bus-kafka's EVENT_BUS_KAFKA_API_KEY / _SECRET. */
  apiKey?: string;
  apiSecret?: string;
}

/** The client options: TLS and SASL PLAIN for SASL_SSL, as event-bus-kafka configures confluent-kafka. */
export function kafkaClientConfig(settings: KafkaSettings): KafkaConfig {
  const logger = new Logger(`kafka:${settings.clientId}`);
  const protocol = settings.securityProtocol ?? (settings.apiKey && settings.apiSecret ? 'SASL_SSL' : 'PLAINTEXT');
  if (protocol === 'SASL_SSL' && !(settings.apiKey && settings.apiSecret))
    throw new Error('Kafka SASL_SSL needs an API key and secret');
  return {
    clientId: settings.clientId,
    brokers: settings.brokers,
    ...(protocol === 'SASL_SSL'
      ? { ssl: true, sasl: { mechanism: 'plain', username: settings.apiKey!, password: settings.apiSecret! } }
      : {}),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      const text = `${message} ${JSON.stringify(extra)}`;
      if (entry.level <= logLevel.ERROR) logger.error(text);
      else logger.warn(text);
    },
  };
}

// kafkajs is frozen upstream; every use of it stays in this library so the client can be swapped.
export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka(kafkaClientConfig(settings));
}

/** How the topics we create are replicated; `acks=all` waits for `minInsyncReplicas` of them. */
export interface TopicReplication {
  replicationFactor: number;
  minInsyncReplicas: number;
}

/** One broker, as locally. */
export const SINGLE_BROKER: TopicReplication = { replicationFactor: 1, minInsyncReplicas: 1 };

export function topicCreation(spec: TopicSpec, replication: TopicReplication): ITopicConfig {
  return {
    topic: spec.name,
    numPartitions: spec.partitions,
    replicationFactor: replication.replicationFactor,
    configEntries: [
      { name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) },
      ...(spec.retentionMs ? [{ name: 'retention.ms', value: String(spec.retentionMs) }] : []),
    ],
  };
}

/** Creates any missing topic; existing ones are left as they are. Auto-creation is off on our brokers. */
export async function provisionTopics(
  kafka: Kafka,
  specs: TopicSpec[],
  replication: TopicReplication = SINGLE_BROKER,
): Promise<string[]> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length) {
      try {
        await admin.createTopics({ waitForLeaders: true, topics: missing.map((s) => topicCreation(s, replication)) });
      } catch (error) {
        // kafkajs waits for the new topics' leaders, but stops at the first answer that does not know
        // the topics yet (a busy broker's metadata lags its controller): wait for them here instead.
        if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
        await waitForLeaders(
          admin,
          missing.map((s) => s.name),
        );
      }
    }
    return missing.map((s) => s.name);
  } finally {
    await admin.disconnect();
  }
}

/** How long a topic just created or deleted may take to show so in a busy broker's metadata. */
const NEW_TOPIC_WAIT_MS = 10_000;

/**
 * Asks `pending` every 200 ms which topics are not yet as wanted, until none are; after `timeoutMs`
 * fails with `what` and the topics left.
 */
async function untilNonePending(pending: () => Promise<string[]>, timeoutMs: number, what: string): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const left = await pending();
    if (!left.length) return;
    if (Date.now() > deadline) throw new Error(`topics ${what} after ${timeoutMs} ms: ${left.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until the broker's metadata has a leader for every partition of these topics. */
export function waitForLeaders(
  admin: Pick<Admin, 'fetchTopicMetadata'>,
  topics: string[],
  timeoutMs = NEW_TOPIC_WAIT_MS,
): Promise<void> {
  return untilNonePending(
    async () => {
      try {
        const { topics: found } = await admin.fetchTopicMetadata({ topics });
        const led = new Set(found.filter((t) => t.partitions.every((p) => p.leader >= 0)).map((t) => t.name));
        return topics.filter((t) => !led.has(t));
      } catch (error) {
        const type = (error as { type?: string }).type;
        if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw error;
        return topics;
      }
    },
    timeoutMs,
    'without a leader',
  );
}

/** Waits until the broker no longer lists these topics. */
export function topicsGone(
  admin: Pick<Admin, 'listTopics'>,
  topics: string[],
  timeoutMs = NEW_TOPIC_WAIT_MS,
): Promise<void> {
  return untilNonePending(
    async () => {
      const listed = new Set(await admin.listTopics());
      return topics.filter((t) => listed.has(t));
    },
    timeoutMs,
    'still listed',
  );
}

export async function missingTopics(kafka: Kafka, names: string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return names.filter((n) => !existing.has(n));
  } finally {
    await admin.disconnect();
  }
}

/** True when a broker answers a metadata request within the timeout. */
export async function kafkaReachable(kafka: Kafka, timeoutMs = 3000): Promise<boolean> {
  const probe = new BrokerProbe(kafka, timeoutMs);
  try {
    return await probe.reachable();
  } finally {
    await probe.close();
  }
}

/** The answers of a broker that has not taken up a partition's leadership yet. */
const LEADERLESS = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Runs an admin read again, every `delayMs` up to `attempts` times, while the broker answers that it
 * is not (yet) the partition's leader: a single broker answers so for a moment after it creates a
 * topic, and kafkajs's offset reads give up on it at once. Every other error fails at once (kafkajs
 * calls most errors retriable, timeouts included: asking those again would only multiply the wait).
 */
export async function retryWhileLeaderless<T>(read: () => Promise<T>, attempts = 10, delayMs = 200): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= attempts || !LEADERLESS.has((error as { type?: string }).type ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Messages a consumer group has not committed yet, per topic (a group that never committed counts
 * from the start of the log). Zero means drained: what an upgrade that changes keys waits for.
 */
export async function consumerLag(
  kafka: Kafka,
  groupId: string,
  topics: string[],
  connected?: Admin,
): Promise<Record<string, number>> {
  // A caller that asks often (a test waiting for quiet) passes an admin connection it keeps open.
  const admin = connected ?? kafka.admin();
  if (!connected) await admin.connect();
  try {
    const committed = await retryWhileLeaderless(() => admin.fetchOffsets({ groupId, topics }));
    const lag: Record<string, number> = {};
    for (const topic of topics) {
      const ends = await retryWhileLeaderless(() => admin.fetchTopicOffsets(topic));
      const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
      lag[topic] = ends.reduce((sum, p) => {
        const at = Number(done.find((d) => d.partition === p.partition)?.offset ?? -1);
        return sum + Number(p.high) - (at >= 0 ? at : Number(p.low));
      }, 0);
    }
    return lag;
  } finally {
    if (!connected) await admin.disconnect();
  }
}

export interface ConsumerGroupMember {
  memberId: string;
  clientId: string;
  host: string;
  /** Partitions it holds, per topic. */
  partitions: Record<string, number[]>;
}

/** Who is in a consumer group now and which partitions each member holds (several instances share a group). */
export async function consumerGroupMembers(
  kafka: Kafka,
  groupId: string,
  connected?: Admin,
): Promise<ConsumerGroupMember[]> {
  const admin = connected ?? kafka.admin();
  if (!connected) await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return (groups[0]?.members ?? []).map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.clientHost,
      partitions: m.memberAssignment.length
        ? (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {})
        : {},
    }));
  } finally {
    if (!connected) await admin.disconnect();
  }
}

/**
 * Deletes every topic whose name starts with `prefix` (and the consumer groups that read them): a
 * test run's own topics, so that a long run does not leave the broker with thousands of partitions.
 * Answers how many topics it deleted.
 */
export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<number> {
  if (prefix.length < 3) throw new Error(`refusing to delete topics by a prefix as short as "${prefix}"`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    // A group with members left (a process killed on purpose) cannot be deleted: it expires on its own.
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) {
      await admin.deleteTopics({ topics, timeout: 30_000 });
      // The controller has deleted them; a busy broker's metadata can list them a moment longer.
      await topicsGone(admin, topics);
    }
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}
