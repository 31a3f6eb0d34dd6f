import { loadConfig, ServiceConfig } from '@groups-sync/config';
import { messagingOptions } from '../messaging.options';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError } from 'kafkajs';
import {
  consumerLag,
  deleteTopicsWithPrefix,
  kafkaClientConfig,
  provisionTopics,
  retryWhileLeaderless,
  topicCreation,
  topicsGone,
  waitForLeaders,
} from './kafka-client';

/** The kafkajs options a service builds from its environment, as MessagingModule.forService does. */
function clientOptions(env: Record<string, string>) {
  const options = messagingOptions('groups-service', loadConfig(ServiceConfig, env), { outbox: true });
  return kafkaClientConfig({ clientId: options.service, brokers: options.brokers, ...options.kafkaSecurity });
}

describe('Kafka client options from config', () => {
  it('connects in plaintext without credentials (the local broker)', () => {
    const options = clientOptions({ KAFKA_BROKERS: '127.0.0.1:9092' });
    expect(options).toMatchObject({ clientId: 'groups-service', brokers: ['127.0.0.1:9092'] });
    expect(options).not.toHaveProperty('ssl');
    expect(options).not.toHaveProperty('sasl');
  });

  it('uses SASL PLAIN over TLS with the event bus API key and secret, as event-bus-kafka does', () => {
    const options = clientOptions({
      KAFKA_BROKERS: 'b1.example.com:9092,b2.example.com:9092',
      EVENT_BUS_KAFKA_API_KEY: 'KEY',
      EVENT_BUS_KAFKA_API_SECRET: 'SECRET',
    });
    expect(options).toMatchObject({
      brokers: ['b1.example.com:9092', 'b2.example.com:9092'],
      ssl: true,
      sasl: { mechanism: 'plain', username: 'KEY', password: 'SECRET' },
    });
  });

  it('uses SASL_SSL when asked for it by name', () => {
    expect(
      clientOptions({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        EVENT_BUS_KAFKA_API_KEY: 'KEY',
        EVENT_BUS_KAFKA_API_SECRET: 'SECRET',
      }),
    ).toMatchObject({ ssl: true });
  });

  it('refuses SASL_SSL without credentials rather than connecting in the clear', () => {
    expect(() => kafkaClientConfig({ clientId: 'x', brokers: ['b:9092'], securityProtocol: 'SASL_SSL' })).toThrow(
      /needs an API key and secret/,
    );
  });

  it('hands the schema registry credentials to the registry client', () => {
    const config = loadConfig(ServiceConfig, {
      EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY: 'SR',
      EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET: 'pw',
    });
    expect(messagingOptions('s', config, { outbox: false }).schemaRegistryAuth).toEqual({ key: 'SR', secret: 'pw' });
    expect(messagingOptions('s', loadConfig(ServiceConfig, {}), { outbox: false }).schemaRegistryAuth).toBeUndefined();
  });

  it('hands the consumers their group session and heartbeat (KAFKA_SESSION_TIMEOUT_MS, KAFKA_HEARTBEAT_INTERVAL_MS)', () => {
    expect(messagingOptions('s', loadConfig(ServiceConfig, {}), { outbox: false })).toMatchObject({
      consumerSessionTimeoutMs: 6000,
      consumerHeartbeatIntervalMs: 1000,
    });
    const config = loadConfig(ServiceConfig, {
      KAFKA_SESSION_TIMEOUT_MS: '45000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '3000',
    });
    expect(messagingOptions('s', config, { outbox: false })).toMatchObject({
      consumerSessionTimeoutMs: 45_000,
      consumerHeartbeatIntervalMs: 3000,
    });
  });
});

describe('topic provisioning', () => {
  const spec = { name: 'user-groups-lifecycle', partitions: 3 };

  it('creates topics with the configured replication factor and min.insync.replicas', () => {
    const { topicReplication } = messagingOptions(
      's',
      loadConfig(ServiceConfig, { KAFKA_TOPIC_REPLICATION_FACTOR: '3', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' }),
      { outbox: true },
    );
    expect(topicCreation(spec, topicReplication!)).toEqual({
      topic: 'user-groups-lifecycle',
      numPartitions: 3,
      replicationFactor: 3,
      configEntries: [{ name: 'min.insync.replicas', value: '2' }],
    });
  });

  it('creates them with 1 replica, 1 in sync, by default (one local broker), keeping a retention', () => {
    const { topicReplication } = messagingOptions('s', loadConfig(ServiceConfig, {}), { outbox: true });
    expect(topicCreation({ ...spec, retentionMs: 60_000 }, topicReplication!)).toEqual({
      topic: 'user-groups-lifecycle',
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: [
        { name: 'min.insync.replicas', value: '1' },
        { name: 'retention.ms', value: '60000' },
      ],
    });
  });
});

describe('waitForLeaders (topics just created)', () => {
  const unknown = Object.assign(new Error('This server does not host this topic-partition'), {
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
  });
  const withLeader = (name: string) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] });

  it('waits while the broker does not know the topics or their leaders yet', async () => {
    const fetchTopicMetadata = jest
      .fn()
      .mockRejectedValueOnce(unknown)
      .mockResolvedValueOnce({ topics: [{ name: 't', partitions: [{ partitionId: 0, leader: -1 }] }] })
      .mockResolvedValue({ topics: [withLeader('t')] });
    await waitForLeaders({ fetchTopicMetadata } as never, ['t'], 5000);
    expect(fetchTopicMetadata).toHaveBeenCalledTimes(3);
  });

  it('gives up after its time, naming the topics, and rethrows other errors at once', async () => {
    await expect(
      waitForLeaders({ fetchTopicMetadata: jest.fn().mockRejectedValue(unknown) } as never, ['a', 'b'], 300),
    ).rejects.toThrow(/without a leader after 300 ms: a, b/);
    const broken = jest.fn().mockRejectedValue(new Error('connection refused'));
    await expect(waitForLeaders({ fetchTopicMetadata: broken } as never, ['t'], 5000)).rejects.toThrow(
      'connection refused',
    );
    expect(broken).toHaveBeenCalledTimes(1);
  });
});

describe('provisionTopics', () => {
  it('creates the missing topics and, when kafkajs stops at a broker that does not know them yet, waits for their leaders', async () => {
    const admin = {
      connect: jest.fn(),
      disconnect: jest.fn(),
      listTopics: jest.fn().mockResolvedValue(['p-old']),
      createTopics: jest
        .fn()
        .mockRejectedValue(Object.assign(new Error('unknown'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' })),
      fetchTopicMetadata: jest.fn().mockResolvedValue({ topics: [{ name: 'p-new', partitions: [{ leader: 1 }] }] }),
    };
    const created = await provisionTopics({ admin: () => admin } as never, [
      { name: 'p-old', partitions: 1 },
      { name: 'p-new', partitions: 1 },
    ]);
    expect(created).toEqual(['p-new']);
    expect(admin.fetchTopicMetadata).toHaveBeenCalledWith({ topics: ['p-new'] });
    admin.createTopics.mockRejectedValue(new Error('not authorized'));
    await expect(provisionTopics({ admin: () => admin } as never, [{ name: 'p-new', partitions: 1 }])).rejects.toThrow(
      'not authorized',
    );
  });
});

describe('topicsGone (topics just deleted)', () => {
  it('waits while the broker still lists them, and gives up after its time naming those left', async () => {
    const listTopics = jest
      .fn()
      .mockResolvedValueOnce(['a', 'b', 'other'])
      .mockResolvedValueOnce(['b', 'other'])
      .mockResolvedValue(['other']);
    await topicsGone({ listTopics } as never, ['a', 'b'], 5000);
    expect(listTopics).toHaveBeenCalledTimes(3);
    await expect(
      topicsGone({ listTopics: jest.fn().mockResolvedValue(['a', 'b']) } as never, ['a', 'b'], 300),
    ).rejects.toThrow(/still listed after 300 ms: a, b/);
  });
});

describe('deleteTopicsWithPrefix', () => {
  it('answers once the broker no longer lists the deleted topics', async () => {
    const admin = {
      connect: jest.fn(),
      disconnect: jest.fn(),
      listGroups: jest.fn().mockResolvedValue({ groups: [] }),
      listTopics: jest
        .fn()
        .mockResolvedValueOnce(['run-a', 'other'])
        .mockResolvedValueOnce(['run-a', 'other'])
        .mockResolvedValue(['other']),
      deleteTopics: jest.fn(),
    };
    expect(await deleteTopicsWithPrefix({ admin: () => admin } as never, 'run-')).toBe(1);
    expect(admin.deleteTopics).toHaveBeenCalledWith({ topics: ['run-a'], timeout: 30_000 });
    expect(admin.listTopics).toHaveBeenCalledTimes(3);
  });
});

/** A broker's error answer as kafkajs throws it (these two are retriable in Kafka's protocol). */
const protocolError = (type: string, code: number, message: string) =>
  new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable: true }));

describe('consumerLag', () => {
  // What kafkajs throws when the broker has not taken up a partition's leadership yet (CI, 2026-12-07).
  const notLeader = () =>
    protocolError('NOT_LEADER_FOR_PARTITION', 6, 'This server is not the leader for that topic-partition');
  const admin = () => ({
    fetchOffsets: jest.fn().mockResolvedValue([{ topic: 't', partitions: [{ partition: 0, offset: '3' }] }]),
    fetchTopicOffsets: jest.fn().mockResolvedValue([{ partition: 0, low: '0', high: '5', offset: '5' }]),
  });

  it('asks again while the broker is not yet the leader of a partition, then counts what is uncommitted', async () => {
    const connected = admin();
    connected.fetchTopicOffsets.mockRejectedValueOnce(notLeader()).mockRejectedValueOnce(notLeader());
    connected.fetchOffsets.mockRejectedValueOnce(notLeader());
    expect(await consumerLag({} as never, 'g', ['t'], connected as never)).toEqual({ t: 2 });
    expect(connected.fetchTopicOffsets).toHaveBeenCalledTimes(3);
    expect(connected.fetchOffsets).toHaveBeenCalledTimes(2);
  });

  it('fails at once on an error that will not pass by itself', async () => {
    const connected = admin();
    connected.fetchTopicOffsets.mockRejectedValue(new Error('not authorized'));
    await expect(consumerLag({} as never, 'g', ['t'], connected as never)).rejects.toThrow('not authorized');
    expect(connected.fetchTopicOffsets).toHaveBeenCalledTimes(1);
  });
});

describe('retryWhileLeaderless', () => {
  const leaderless = () => protocolError('LEADER_NOT_AVAILABLE', 5, 'There is no leader for this topic-partition');

  it('asks again only while the broker has no leader to answer with, and gives up after its attempts', async () => {
    const read = jest.fn().mockRejectedValueOnce(leaderless()).mockResolvedValue('read');
    expect(await retryWhileLeaderless(read, 3, 1)).toBe('read');
    const never = jest.fn().mockRejectedValue(leaderless());
    await expect(retryWhileLeaderless(never, 3, 1)).rejects.toThrow('no leader');
    expect(never).toHaveBeenCalledTimes(3);
  });

  it('does not ask again after errors kafkajs calls retriable but that a leader does not end (a timeout: 10 s each)', async () => {
    for (const error of [
      new KafkaJSRequestTimeoutError('Request ListOffsets timed out'),
      new KafkaJSNumberOfRetriesExceeded(new Error('This server does not host this topic-partition'), {
        retryCount: 8,
        retryTime: 5000,
      }),
    ]) {
      const read = jest.fn().mockRejectedValue(error);
      await expect(retryWhileLeaderless(read, 3, 1)).rejects.toBe(error);
      expect(read).toHaveBeenCalledTimes(1);
    }
  });
});
