import { DataSource } from 'typeorm';
import {
  allTopicSpecs,
  ConfluentSchemaRegistry,
  EventCodec,
  EventType,
  fullTopicName,
  Topic,
} from '@groups-sync/contracts';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { expectEventually, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { Kafka } from 'kafkajs';
import { createKafka, provisionTopics } from '../kafka/kafka-client';
import { MessageProducer } from '../kafka/message-producer';
import { TopicReader } from '../kafka/topic-reader';
import { MESSAGING_MIGRATIONS } from './messaging-tables.migration';
import { OutboxMessage } from './outbox-message.entity';
import { OutboxRelay } from './outbox-relay';
import { OutboxWriter } from './outbox.writer';

const env = stackEnv();
const LEASE_SECONDS = 3;

/**
 * What SIGSTOP does to an instance, in-process: once armed, the relay's next batch read returns its
 * rows and then every database call and send the instance starts waits until `resume()`. Its
 * connections stay open, as a stopped process's do.
 */
function stoppable(dataSource: DataSource, producer: MessageProducer) {
  let stopped = false;
  let armed = false;
  let open = () => undefined as void;
  let gate = Promise.resolve();
  const halted = () => (stopped ? gate : Promise.resolve());
  const query = dataSource.query.bind(dataSource);
  dataSource.query = (async (sql: string, params?: unknown[]) => {
    await halted();
    const rows = await query(sql, params);
    if (armed && /^SELECT id, event_id/.test(sql) && rows.length) {
      armed = false;
      stopped = true;
      gate = new Promise<void>((r) => (open = r));
      await gate;
    }
    return rows;
  }) as typeof dataSource.query;
  const createQueryRunner = dataSource.createQueryRunner.bind(dataSource);
  dataSource.createQueryRunner = ((...args: Parameters<typeof createQueryRunner>) => {
    const runner = createQueryRunner(...args);
    const runnerQuery = runner.query.bind(runner);
    runner.query = (async (...a: Parameters<typeof runnerQuery>) => {
      await halted();
      return runnerQuery(...a);
    }) as typeof runner.query;
    return runner;
  }) as typeof dataSource.createQueryRunner;
  const send = producer.send.bind(producer);
  producer.send = async (messages) => {
    await halted();
    return send(messages);
  };
  return {
    stopAfterNextRead: () => (armed = true),
    get stopped() {
      return stopped;
    },
    resume: () => {
      stopped = false;
      open();
    },
  };
}

describe('OutboxRelay lease with several instances', () => {
  const prefix = `it-${uniqueSuffix()}`;
  const dbName = `lease_${prefix.replace(/-/g, '_')}_test`;
  let kafka: Kafka;
  let codec: EventCodec;
  let writerDb: DataSource;
  let reader: TopicReader;
  const dataSources: DataSource[] = [];
  const relays: OutboxRelay[] = [];
  const producers: MessageProducer[] = [];
  /** Stopped instances are resumed after each test, whatever it found, so they can shut down. */
  const resumes: Array<() => void> = [];
  const writer = new OutboxWriter('it');

  async function openDataSource(): Promise<DataSource> {
    const flavor = await ensureDatabase(env.MYSQL_URL, dbName);
    const ds = await new DataSource(
      dataSourceOptions({
        url: env.MYSQL_URL,
        database: dbName,
        flavor,
        entities: [OutboxMessage],
        migrations: MESSAGING_MIGRATIONS,
      }),
    ).initialize();
    dataSources.push(ds);
    return ds;
  }

  /** One instance: its own pool and producer, as a separate process has. */
  async function instance() {
    const dataSource = await openDataSource();
    const producer = new MessageProducer(kafka);
    producers.push(producer);
    // Before the relay opens any connection, so that all of them can be stopped.
    const stop = stoppable(dataSource, producer);
    resumes.push(() => stop.resume());
    const relay = new OutboxRelay(dataSource, codec, producer, {
      service: 'it',
      pollIntervalMs: 20,
      leaseSeconds: LEASE_SECONDS,
    });
    relays.push(relay);
    return { relay, stop };
  }

  async function append(count: number, group: string): Promise<string[]> {
    const ids: string[] = [];
    for (let n = 0; n < count; n++) {
      await writerDb.transaction(async (manager) => {
        ids.push(
          await writer.append(manager, EventType.UserGroupLegacyLinkChanged, {
            legacy_link: {
              group_id: `${group}-${n % 2}`,
              legacy_type: 'cohort',
              legacy_id: String(n),
              course_key: `course-v1:T+${n % 2}+T`,
              occurred_at: '2026-11-22T00:00:00+00:00',
            },
          }),
        );
      });
    }
    return ids;
  }

  const published = (ids: string[]) => ids.every((id) => reader.messages.some((m) => m.headers.ce_id === id));
  const copies = (ids: string[]) => ids.map((id) => reader.messages.filter((m) => m.headers.ce_id === id).length);

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'it', brokers: env.KAFKA_BROKERS.split(',') });
    await provisionTopics(kafka, allTopicSpecs(prefix, 3));
    codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), prefix);
    writerDb = await openDataSource();
    reader = new TopicReader(kafka, [fullTopicName(Topic.UserGroupLifecycle, prefix)]);
    await reader.start();
  });

  afterEach(async () => {
    resumes.splice(0).forEach((resume) => resume());
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await reader.stop();
    await Promise.all(producers.map((p) => p.disconnect()));
    await Promise.all(dataSources.map((d) => d.destroy()));
    await dropDatabase(env.MYSQL_URL, dbName);
  });

  it('hands the lease to another instance within the lease time when its holder is stopped (SIGSTOP), and the stopped holder sends nothing when it resumes', async () => {
    const a = await instance();
    a.relay.start();
    await expectEventually(() => expect(a.relay.isLeader).toBe(true));
    const b = await instance();
    b.relay.start();
    const before = await append(4, 'before');
    await expectEventually(() => expect(published(before)).toBe(true));

    // The holder reads a batch and is stopped before it sends it; its connections stay open.
    const stop = a.stop;
    stop.stopAfterNextRead();
    const during = await append(6, 'during');
    await expectEventually(() => expect(stop.stopped).toBe(true));
    const stoppedAt = Date.now();
    await expectEventually(() => expect(published(during)).toBe(true), { timeoutMs: (LEASE_SECONDS + 10) * 1000 });
    // Taken over once the lease ran out (plus the standby's next try), not when MySQL dropped the session.
    expect(Date.now() - stoppedAt).toBeLessThan((LEASE_SECONDS + 2) * 1000);
    expect(b.relay.isLeader).toBe(true);

    // SIGCONT: the old holder finds its lease gone before it sends the batch it had read.
    stop.resume();
    await expectEventually(() => expect(a.relay.isLeader).toBe(false));
    const after = await append(4, 'after');
    await expectEventually(() => expect(published(after)).toBe(true));
    expect(copies([...before, ...during, ...after])).toEqual([...before, ...during, ...after].map(() => 1));
  });

  it('hands the lease over at once when its holder stops gracefully', async () => {
    const a = await instance();
    a.relay.start();
    await expectEventually(() => expect(a.relay.isLeader).toBe(true));
    const b = await instance();
    b.relay.start();
    await a.relay.stop();
    const stoppedAt = Date.now();
    const rows = await append(2, 'graceful');
    await expectEventually(() => expect(published(rows)).toBe(true), { timeoutMs: 10_000 });
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_SECONDS * 1000);
    expect(b.relay.isLeader).toBe(true);
  });
});
