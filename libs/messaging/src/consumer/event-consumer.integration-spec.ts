import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import {
  allTopicSpecs,
  ConfluentSchemaRegistry,
  ConsumerGroup,
  DecodedEvent,
  EventCodec,
  EventType,
  fullTopicName,
  deadLetterTopic,
  newEventMetadata,
  Topic,
} from '@groups-sync/contracts';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { expectConsistently, expectEventually, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { Kafka } from 'kafkajs';
import { register } from 'prom-client';
import { EventConsumer } from './event-consumer';
import { DependencyUnavailableError, HeldByOperatorError, PoisonMessageError } from './consumer.errors';
import { ConsumerAttempt1764800000000 } from './consumer-attempt.migration';
import { ConsumerAttempts } from './consumer-attempts';
import { ConsumerStall1764600000000 } from './consumer-stall.migration';
import { ConsumerStalls } from './consumer-stalls';
import { DeadLetterHeader } from './dead-letter';
import { DeadLetterTopics } from './dead-letter-topics';
import { consumerLag, createKafka, provisionTopics } from '../kafka/kafka-client';
import { MessageProducer } from '../kafka/message-producer';
import { TopicReader } from '../kafka/topic-reader';
import { Inbox } from '../inbox/inbox';
import { InboxEntry } from '../inbox/inbox-entry.entity';
import { MessagingTables1763700000000 } from '../outbox/messaging-tables.migration';

const env = stackEnv();

/** A metric's value for some labels, as /metrics would show it (0 when absent). */
async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const found = register.getSingleMetric(name);
  if (!found) return 0;
  const { values } = await found.get();
  return values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value ?? 0;
}

function cohortEvent(user: number) {
  return {
    cohort: {
      user: { id: user, is_active: true, pii: { username: `u${user}`, email: `u${user}@example.com`, name: '' } },
      course: { course_key: 'course-v1:T+T+T', display_name: '', start: null, end: null },
      name: 'C',
    },
  };
}

describe('EventConsumer on a real broker', () => {
  const prefix = `it-${uniqueSuffix()}`;
  const dbName = `messaging_${prefix.replace(/-/g, '_')}_test`;
  let kafka: Kafka;
  let producer: MessageProducer;
  let codec: EventCodec;
  let dataSource: DataSource;
  let consumer: EventConsumer | undefined;
  let dlq: TopicReader | undefined;
  const topic = fullTopicName(Topic.LmsCohortMembership, prefix);

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'it', brokers: env.KAFKA_BROKERS.split(',') });
    // One partition, so "the next message on the same partition" is well defined.
    await provisionTopics(kafka, allTopicSpecs(prefix, 1));
    producer = new MessageProducer(kafka);
    codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), prefix);
    const flavor = await ensureDatabase(env.MYSQL_URL, dbName);
    dataSource = await new DataSource(
      dataSourceOptions({
        url: env.MYSQL_URL,
        database: dbName,
        flavor,
        entities: [InboxEntry],
        migrations: [MessagingTables1763700000000, ConsumerStall1764600000000, ConsumerAttempt1764800000000],
      }),
    ).initialize();
  });

  afterEach(async () => {
    await consumer?.stop();
    await dlq?.stop();
    consumer = dlq = undefined;
  });

  afterAll(async () => {
    await producer.disconnect();
    await dataSource.destroy();
    await dropDatabase(env.MYSQL_URL, dbName);
  });

  function start(handlers: ConstructorParameters<typeof EventConsumer>[3]['handlers'], maxAttempts = 3) {
    consumer = new EventConsumer(kafka, codec, producer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topicPrefix: prefix,
      topics: [Topic.LmsCohortMembership],
      handlers,
      maxAttempts,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
    });
    return consumer.start();
  }

  async function readDeadLetters(topicPrefix = prefix) {
    dlq = new TopicReader(kafka, [fullTopicName(deadLetterTopic(ConsumerGroup.LegacySyncLmsEvents), topicPrefix)]);
    await dlq.start();
    return dlq;
  }

  /** Topics of their own (one partition) and a codec for them: a consumer group that starts empty. */
  async function ownTopics(name: string) {
    const own = `${prefix}-${name}`;
    await provisionTopics(kafka, allTopicSpecs(own, 1));
    const ownCodec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), own);
    const send = async (user: number, id: string) =>
      producer.send([
        await ownCodec.encode(
          EventType.CohortMembershipChanged,
          cohortEvent(user),
          newEventMetadata(EventType.CohortMembershipChanged, 'lms', { id }),
        ),
      ]);
    return { prefix: own, codec: ownCodec, send, groupId: fullTopicName(ConsumerGroup.LegacySyncLmsEvents, own) };
  }

  it('dead-letters a garbage value and an unknown ce_type with their reasons, and still applies the next good message', async () => {
    const applied: number[] = [];
    const good = await codec.encode(
      EventType.CohortMembershipChanged,
      cohortEvent(1),
      newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
    );
    await producer.send([
      {
        topic,
        key: null,
        value: Buffer.from('not avro at all'),
        headers: { ce_type: EventType.CohortMembershipChanged, ce_id: 'garbage-1' },
      },
      { ...good, headers: { ...good.headers, ce_type: 'org.example.unknown.v1', ce_id: 'unknown-1' } },
      good,
    ]);
    await start({
      [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
        applied.push(e.data.cohort.user.id);
      },
    });
    const reader = await readDeadLetters();

    await expectEventually(() => expect(applied).toEqual([1]));
    await expectEventually(() => expect(reader.messages).toHaveLength(2));
    const byId = Object.fromEntries(reader.messages.map((m) => [m.headers.ce_id, m.headers]));
    expect(byId['garbage-1']).toMatchObject({
      [DeadLetterHeader.Reason]: 'BAD_FRAMING',
      [DeadLetterHeader.ErrorClass]: 'EventCodecError',
      [DeadLetterHeader.OriginalTopic]: topic,
      [DeadLetterHeader.OriginalPartition]: '0',
      [DeadLetterHeader.Attempts]: '1',
      [DeadLetterHeader.ConsumerGroup]: ConsumerGroup.LegacySyncLmsEvents,
    });
    expect(byId['unknown-1'][DeadLetterHeader.Reason]).toBe('UNKNOWN_EVENT_TYPE');
    expect(byId['unknown-1'][DeadLetterHeader.ErrorMessage]).toContain('org.example.unknown.v1');
    expect(reader.messages.find((m) => m.headers.ce_id === 'garbage-1')!.value!.toString()).toBe('not avro at all');
  });

  it('retries a transient failure without moving on, then applies it', async () => {
    const seen: string[] = [];
    let failures = 2;
    await producer.send([
      await codec.encode(
        EventType.CohortMembershipChanged,
        cohortEvent(2),
        newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
      ),
    ]);
    await producer.send([
      await codec.encode(
        EventType.CohortMembershipChanged,
        cohortEvent(3),
        newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
      ),
    ]);
    await start(
      {
        [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>, ctx) => {
          seen.push(`${e.data.cohort.user.id}#${ctx.attempt}`);
          if (e.data.cohort.user.id === 2 && failures-- > 0) throw new Error('database is down');
        },
      },
      5,
    );
    await expectEventually(() => expect(seen.filter((s) => !s.startsWith('1#'))).toEqual(['2#1', '2#2', '2#3', '3#1']));
  });

  it('dead-letters a message over its retry budget and one a handler calls poison', async () => {
    await producer.send([
      await codec.encode(
        EventType.CohortMembershipChanged,
        cohortEvent(4),
        newEventMetadata(EventType.CohortMembershipChanged, 'lms', { id: 'budget-4' }),
      ),
      await codec.encode(
        EventType.CohortMembershipChanged,
        cohortEvent(5),
        newEventMetadata(EventType.CohortMembershipChanged, 'lms', { id: 'poison-5' }),
      ),
    ]);
    await start(
      {
        [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
          if (e.data.cohort.user.id === 4) throw new Error('LMS keeps timing out');
          if (e.data.cohort.user.id === 5) throw new PoisonMessageError('INVALID_DATA', 'user 5 cannot exist');
        },
      },
      3,
    );
    const reader = await readDeadLetters();
    await expectEventually(() => {
      const byId = Object.fromEntries(reader.messages.map((m) => [m.headers.ce_id, m.headers]));
      // Delivered once in its batch (not counted: the fault could have been another message's), then 3 times alone.
      expect(byId['budget-4']).toMatchObject({
        [DeadLetterHeader.Reason]: 'RETRY_BUDGET_EXCEEDED',
        [DeadLetterHeader.Attempts]: '4',
      });
      expect(byId['budget-4'][DeadLetterHeader.ErrorMessage]).toContain('LMS keeps timing out');
      expect(byId['poison-5']).toMatchObject({
        [DeadLetterHeader.Reason]: 'INVALID_DATA',
        [DeadLetterHeader.Attempts]: '1',
      });
    });
  });

  it('waits out an unavailable dependency without spending the retry budget, keeping the partition in order', async () => {
    const seen: string[] = [];
    let outage = 6; // twice the budget
    for (const id of [7, 8]) {
      await producer.send([
        await codec.encode(
          EventType.CohortMembershipChanged,
          cohortEvent(id),
          newEventMetadata(EventType.CohortMembershipChanged, 'lms', { id: `outage-${id}` }),
        ),
      ]);
    }
    await start(
      {
        [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>, ctx) => {
          seen.push(`${e.data.cohort.user.id}#${ctx.attempt}`);
          if (e.data.cohort.user.id === 7 && outage-- > 0) throw new DependencyUnavailableError('LMS unreachable');
        },
      },
      3,
    );
    await expectEventually(() =>
      expect(seen.filter((s) => /^[78]#/.test(s))).toEqual(['7#1', '7#2', '7#3', '7#4', '7#5', '7#6', '7#7', '8#1']),
    );
    const reader = await readDeadLetters();
    await expectConsistently(() => expect(reader.messages.map((m) => m.headers.ce_id)).not.toContain('outage-7'), {
      durationMs: 1500,
    });
  });

  it('dead-letters a message whose dependency stays down past the outage budget, with the reason, and then handles the next ones', async () => {
    const own = await ownTopics('outage');
    await own.send(20, 'outage-20');
    await own.send(21, 'outage-21');
    const failures: number[] = [];
    const applied: number[] = [];
    const before = await metricValue('consumer_outage_dead_lettered_total', {
      group: ConsumerGroup.LegacySyncLmsEvents,
    });
    consumer = new EventConsumer(kafka, own.codec, producer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topicPrefix: own.prefix,
      topics: [Topic.LmsCohortMembership],
      maxAttempts: 3,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
      outageBudgetMs: 1500,
      stalls: new ConsumerStalls(dataSource),
      handlers: {
        [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
          if (e.data.cohort.user.id === 20) {
            failures.push(Date.now());
            throw new DependencyUnavailableError('LMS answered 504');
          }
          applied.push(e.data.cohort.user.id);
        },
      },
    });
    await consumer.start();
    const reader = await readDeadLetters(own.prefix);

    await expectEventually(() => expect(applied).toEqual([21]), { timeoutMs: 20_000 });
    const letter = await expectEventually(() => reader.messages.find((m) => m.headers.ce_id === 'outage-20')!.headers);
    expect(letter).toMatchObject({
      [DeadLetterHeader.Reason]: 'OUTAGE_BUDGET_EXCEEDED',
      [DeadLetterHeader.ErrorClass]: 'OutageBudgetExceededError',
      [DeadLetterHeader.ErrorMessage]: 'dependency unavailable for 1.5 s: LMS answered 504',
    });
    // It waited the outage out first, far beyond its retry budget of 3 attempts.
    expect(failures.length).toBeGreaterThan(3);
    expect(Date.parse(letter[DeadLetterHeader.DeadLetteredAt]) - failures[0]).toBeGreaterThanOrEqual(1400);
    expect(await metricValue('consumer_outage_dead_lettered_total', { group: ConsumerGroup.LegacySyncLmsEvents })).toBe(
      before + 1,
    );
    await expectEventually(async () =>
      expect(await dataSource.query('SELECT * FROM consumer_stall WHERE consumer_group = ?', [own.groupId])).toEqual(
        [],
      ),
    );
  });

  it("counts the outage budget from the message's first failure, kept in the database across a restart of the consumer", async () => {
    const own = await ownTopics('outage-restart');
    await own.send(30, 'outage-30');
    await own.send(31, 'outage-31');
    const failures: number[] = [];
    const applied: number[] = [];
    const budgetMs = 6000;
    const newConsumer = () =>
      new EventConsumer(kafka, own.codec, producer, {
        group: ConsumerGroup.LegacySyncLmsEvents,
        topicPrefix: own.prefix,
        topics: [Topic.LmsCohortMembership],
        maxAttempts: 3,
        backoffInitialMs: 20,
        backoffMaxMs: 200,
        outageBudgetMs: budgetMs,
        stalls: new ConsumerStalls(dataSource),
        handlers: {
          [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
            if (e.data.cohort.user.id === 30) {
              failures.push(Date.now());
              throw new DependencyUnavailableError('LMS timed out');
            }
            applied.push(e.data.cohort.user.id);
          },
        },
      });
    consumer = newConsumer();
    await consumer.start();
    await expectEventually(async () =>
      expect(
        await metricValue('consumer_stalled_seconds', { group: ConsumerGroup.LegacySyncLmsEvents }),
      ).toBeGreaterThan(0),
    );
    await expectEventually(() => expect(Date.now() - failures[0]).toBeGreaterThan(3000), {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    await consumer.stop();
    const [stall] = await dataSource.query(
      'SELECT `offset`, first_failed_at, last_error FROM consumer_stall WHERE consumer_group = ?',
      [own.groupId],
    );
    expect(stall.last_error).toBe('LMS timed out');
    expect(Math.abs(new Date(stall.first_failed_at).getTime() - failures[0])).toBeLessThan(1000);
    const failedBeforeRestart = failures.length;

    // A new member of the group takes the partition: the message's budget goes on where it was.
    consumer = newConsumer();
    await consumer.start();
    const reader = await readDeadLetters(own.prefix);
    await expectEventually(() => expect(applied).toEqual([31]), { timeoutMs: 30_000 });
    const letter = reader.messages.find((m) => m.headers.ce_id === 'outage-30')!.headers;
    expect(letter[DeadLetterHeader.Reason]).toBe('OUTAGE_BUDGET_EXCEEDED');
    expect(Math.abs(Date.parse(letter[DeadLetterHeader.FirstFailureTime]) - failures[0])).toBeLessThan(1000);
    const firstAfterRestart = failures[failedBeforeRestart];
    // A budget started afresh at the restart would have run until firstAfterRestart + 6 s.
    expect(Date.parse(letter[DeadLetterHeader.DeadLetteredAt]) - firstAfterRestart).toBeLessThan(budgetMs - 1500);
    expect(await metricValue('consumer_stalled_seconds', { group: ConsumerGroup.LegacySyncLmsEvents })).toBe(0);
  });

  it('dead-letters a message that failed N times once the total reaches the budget, though its consumer was stopped and created again in between', async () => {
    const own = await ownTopics('attempts-restart');
    await own.send(60, 'attempts-60');
    await own.send(61, 'attempts-61');
    const failures: number[] = [];
    const applied: number[] = [];
    const newConsumer = () =>
      new EventConsumer(kafka, own.codec, producer, {
        group: ConsumerGroup.LegacySyncLmsEvents,
        topicPrefix: own.prefix,
        topics: [Topic.LmsCohortMembership],
        maxAttempts: 5,
        backoffInitialMs: 20,
        backoffMaxMs: 100,
        attempts: new ConsumerAttempts(dataSource),
        handlers: {
          [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
            if (e.data.cohort.user.id === 60) {
              failures.push(Date.now());
              throw new TypeError('a defect in the handler');
            }
            applied.push(e.data.cohort.user.id);
          },
        },
      });
    consumer = newConsumer();
    await consumer.start();
    await expectEventually(() => expect(failures.length).toBeGreaterThanOrEqual(3), { timeoutMs: 20_000 });
    await consumer.stop();
    const failedBeforeRestart = failures.length;
    const [row] = await dataSource.query('SELECT `offset`, attempts FROM consumer_attempt WHERE consumer_group = ?', [
      own.groupId,
    ]);
    expect(Number(row.attempts)).toBeGreaterThanOrEqual(2); // the delivery its batch failed on counts nothing against it

    consumer = newConsumer(); // a restart: nothing in memory
    await consumer.start();
    const reader = await readDeadLetters(own.prefix);
    await expectEventually(() => expect(applied).toEqual([61]), { timeoutMs: 30_000 });
    const letter = reader.messages.find((m) => m.headers.ce_id === 'attempts-60')!.headers;
    expect(letter[DeadLetterHeader.Reason]).toBe('RETRY_BUDGET_EXCEEDED');
    // A budget started afresh at the restart would have taken 5 more failures.
    expect(failures.length - failedBeforeRestart).toBe(5 - Number(row.attempts));
    await expectEventually(async () =>
      expect(await dataSource.query('SELECT * FROM consumer_attempt WHERE consumer_group = ?', [own.groupId])).toEqual(
        [],
      ),
    );
  });

  it("waits out a schema registry that answers 503 without spending the retry budget, even on a partition's first message (an empty schema cache)", async () => {
    const own = await ownTopics('registry-down');
    await own.send(70, 'registry-70');
    let down = true;
    let refused = 0;
    // The registry as the consumer sees it: 503 while "down", else the real one.
    const proxy = createServer((req, res) => {
      if (down) {
        refused++;
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error_code: 50301, message: 'unavailable' }));
        return;
      }
      void fetch(`${env.SCHEMA_REGISTRY_URL.replace(/\/$/, '')}${req.url}`).then(async (answer) =>
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text()),
      );
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const applied: number[] = [];
    try {
      consumer = new EventConsumer(
        kafka,
        new EventCodec(
          new ConfluentSchemaRegistry(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`),
          own.prefix,
        ),
        producer,
        {
          group: ConsumerGroup.LegacySyncLmsEvents,
          topicPrefix: own.prefix,
          topics: [Topic.LmsCohortMembership],
          maxAttempts: 2,
          backoffInitialMs: 20,
          backoffMaxMs: 100,
          handlers: {
            [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
              applied.push(e.data.cohort.user.id);
            },
          },
        },
      );
      await consumer.start();
      const reader = await readDeadLetters(own.prefix);
      // Far more failures than the retry budget of 2, none of them counted.
      await expectEventually(() => expect(refused).toBeGreaterThan(6), { timeoutMs: 20_000 });
      down = false;
      await expectEventually(() => expect(applied).toEqual([70]), { timeoutMs: 20_000 });
      expect(reader.messages.map((m) => m.headers.ce_id)).not.toContain('registry-70');
    } finally {
      await consumer?.stop();
      consumer = undefined;
      await new Promise((r) => proxy.close(r));
    }
  });

  it('waits for as long as an operator holds the partition, however far past the outage budget, then handles it in order', async () => {
    const own = await ownTopics('held');
    await own.send(40, 'held-40');
    await own.send(41, 'held-41');
    let held = true;
    const holds: number[] = [];
    const applied: number[] = [];
    consumer = new EventConsumer(kafka, own.codec, producer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topicPrefix: own.prefix,
      topics: [Topic.LmsCohortMembership],
      maxAttempts: 3,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
      outageBudgetMs: 300,
      stalls: new ConsumerStalls(dataSource),
      handlers: {
        [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
          if (held) {
            holds.push(Date.now());
            throw new HeldByOperatorError('writes to the LMS are paused');
          }
          applied.push(e.data.cohort.user.id);
        },
      },
    });
    await consumer.start();
    const reader = await readDeadLetters(own.prefix);
    await expectEventually(() => expect(holds.length > 5 && Date.now() - holds[0] > 1500).toBe(true), {
      timeoutMs: 20_000,
    });
    await expectConsistently(() => expect(reader.messages).toEqual([]), { durationMs: 1000 });
    expect(await metricValue('consumer_stalled_seconds', { group: ConsumerGroup.LegacySyncLmsEvents })).toBe(0);

    held = false;
    await expectEventually(() => expect(applied).toEqual([40, 41]));
    expect(reader.messages).toEqual([]);
  });

  it("holds only the failing message's partition while it retries; the others go on", async () => {
    const twoPartitions = `${prefix}-p2`;
    await provisionTopics(kafka, allTopicSpecs(twoPartitions, 2));
    const twoCodec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), twoPartitions);
    const seen: Array<{ user: number; at: number }> = [];
    const t0 = Date.now();
    let failures = 4;
    // Messages written straight to a partition.
    const raw = kafka.producer();
    await raw.connect();
    const sendTo = async (user: number, partition: number) => {
      const m = await twoCodec.encode(
        EventType.CohortMembershipChanged,
        cohortEvent(user),
        newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
      );
      await raw.send({ topic: m.topic, messages: [{ partition, key: m.key, value: m.value, headers: m.headers }] });
    };
    await sendTo(10, 0);
    consumer = new EventConsumer(kafka, twoCodec, producer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topicPrefix: twoPartitions,
      topics: [Topic.LmsCohortMembership],
      maxAttempts: 10,
      backoffInitialMs: 400,
      backoffMaxMs: 1000,
      handlers: {
        [EventType.CohortMembershipChanged]: async (e: DecodedEvent<EventType.CohortMembershipChanged>) => {
          seen.push({ user: e.data.cohort.user.id, at: Date.now() - t0 });
          if (e.data.cohort.user.id === 10 && failures-- > 0) throw new Error('not yet');
        },
      },
    });
    await consumer.start();
    // While user 10's message is failing on partition 0, a message arrives on partition 1.
    await expectEventually(() => expect(seen.filter((s) => s.user === 10).length).toBeGreaterThanOrEqual(1), {
      timeoutMs: 20_000,
    });
    await sendTo(11, 1);
    await raw.disconnect();
    await expectEventually(() => expect(seen.filter((s) => s.user === 10)).toHaveLength(5), { timeoutMs: 20_000 });
    const tries = seen.filter((s) => s.user === 10);
    const other = seen.find((s) => s.user === 11);
    // Served while partition 0 was still backing off (about 3 s in all), not after it.
    expect(tries[4].at - tries[0].at).toBeGreaterThan(2000);
    expect(other).toBeDefined();
    expect(other!.at).toBeLessThan(tries[4].at - 1000);
  });

  it('hands a batch handler whole partition batches in order, and sets a poison event aside alone while the rest of its batch applies', async () => {
    const applied: number[] = [];
    const sizes: number[] = [];
    const poisonId = `poison-batch-${uniqueSuffix()}`;
    const messages = [];
    for (let user = 100; user < 140; user++) {
      messages.push(
        await codec.encode(
          EventType.CohortMembershipChanged,
          cohortEvent(user),
          newEventMetadata(EventType.CohortMembershipChanged, 'lms', user === 117 ? { id: poisonId } : {}),
        ),
      );
    }
    await producer.send(messages);
    consumer = new EventConsumer(kafka, codec, producer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topicPrefix: prefix,
      topics: [Topic.LmsCohortMembership],
      maxAttempts: 3,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
      batch: {
        types: [EventType.CohortMembershipChanged],
        filter: (e) => (e as DecodedEvent<EventType.CohortMembershipChanged>).data.cohort.user.id !== 139, // skipped before the handler
        handle: async (events) => {
          const batch = events as Array<DecodedEvent<EventType.CohortMembershipChanged>>;
          const poison = batch.find((e) => e.metadata.id === poisonId);
          if (poison) throw new PoisonMessageError('INVALID_DATA', 'user 117 cannot exist', poison);
          sizes.push(batch.length);
          applied.push(...batch.map((e) => e.data.cohort.user.id).filter((u) => u >= 100));
        },
      },
    });
    await consumer.start();
    const reader = await readDeadLetters();
    const expected = Array.from({ length: 39 }, (_, i) => 100 + i).filter((u) => u !== 117);
    await expectEventually(() => expect(applied).toEqual(expected));
    await expectEventually(() => expect(reader.messages.map((m) => m.headers.ce_id)).toContain(poisonId));
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });

  it('checks a batch against the inbox in one read: repeats within the batch and events seen before are applied once', async () => {
    const inbox = new Inbox(dataSource, 'it-batch-group');
    const event = (user: number) =>
      ({
        type: EventType.CohortMembershipChanged,
        metadata: newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
        data: cohortEvent(user),
        key: null,
      }) as DecodedEvent;
    const [a, b, c] = [event(1), event(2), event(3)];
    await inbox.process(a, async () => undefined);
    const applied: string[] = [];
    const fresh = await inbox.processBatch([a, b, b, c], async (_m, events) => {
      applied.push(...events.map((e) => e.metadata.id));
    });
    expect(fresh.map((e) => e.metadata.id)).toEqual([b.metadata.id, c.metadata.id]);
    expect(applied).toEqual([b.metadata.id, c.metadata.id]);
    expect(
      await inbox.processBatch([a, b, c], async () => {
        throw new Error('nothing is new');
      }),
    ).toEqual([]);
  });

  it("reports a consumer group's lag until it has consumed and committed everything (the drain step of a key change)", async () => {
    const drainPrefix = `${prefix}-drain`;
    await provisionTopics(kafka, allTopicSpecs(drainPrefix, 3));
    const drainCodec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), drainPrefix);
    const messages = await Promise.all(
      [200, 201, 202, 203].map((u) =>
        drainCodec.encode(
          EventType.CohortMembershipChanged,
          cohortEvent(u),
          newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
        ),
      ),
    );
    await producer.send(messages);
    const topicName = fullTopicName(Topic.LmsCohortMembership, drainPrefix);
    const groupId = fullTopicName(ConsumerGroup.LegacySyncLmsEvents, drainPrefix);
    expect(await consumerLag(kafka, groupId, [topicName])).toEqual({ [topicName]: 4 });
    consumer = new EventConsumer(kafka, drainCodec, producer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topicPrefix: drainPrefix,
      topics: [Topic.LmsCohortMembership],
      maxAttempts: 3,
      backoffMaxMs: 100,
      handlers: { [EventType.CohortMembershipChanged]: async () => undefined },
    });
    await consumer.start();
    await expectEventually(
      async () => expect(await consumerLag(kafka, groupId, [topicName])).toEqual({ [topicName]: 0 }),
      { timeoutMs: 20_000, intervalMs: 500 },
    );
  });

  it('applies an event delivered twice (same ce_id) once, through the inbox', async () => {
    const inbox = new Inbox(dataSource, 'it-group');
    const effects: string[] = [];
    const event = {
      type: EventType.CohortMembershipChanged,
      metadata: newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
      data: cohortEvent(6),
      key: null,
    } as DecodedEvent;
    const outcomes = [];
    for (let i = 0; i < 2; i++)
      outcomes.push(
        await inbox.process(event, async () => {
          effects.push('applied');
        }),
      );
    expect(outcomes).toEqual(['applied', 'duplicate']);
    expect(effects).toEqual(['applied']);
    const [{ n }] = await dataSource.query('SELECT COUNT(*) AS n FROM inbox WHERE event_id = ?', [event.metadata.id]);
    expect(Number(n)).toBe(1);
  });

  it("replays a dead letter into the group's retry topic once the handler's defect is fixed: applied exactly once, with its ce_id", async () => {
    const replayPrefix = `${prefix}-replay`;
    await provisionTopics(kafka, allTopicSpecs(replayPrefix, 1));
    const replayCodec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), replayPrefix);
    const inbox = new Inbox(dataSource, 'it-replay-group');
    const applied: Array<{ user: number; replayed: boolean }> = [];
    let defect = true; // the switch: a handler bug, later fixed
    consumer = new EventConsumer(kafka, replayCodec, producer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topicPrefix: replayPrefix,
      topics: [Topic.LmsCohortMembership],
      maxAttempts: 2,
      backoffInitialMs: 20,
      backoffMaxMs: 50,
      batch: {
        types: [EventType.CohortMembershipChanged],
        handle: async (events, context) => {
          if (defect) throw new TypeError('cannot read properties of undefined (a defect)');
          await inbox.processBatch(events, async (_m, fresh) => {
            for (const e of fresh)
              applied.push({
                user: (e as DecodedEvent<EventType.CohortMembershipChanged>).data.cohort.user.id,
                replayed: !!context.replayed,
              });
          });
        },
      },
    });
    await consumer.start();
    const message = await replayCodec.encode(
      EventType.CohortMembershipChanged,
      cohortEvent(300),
      newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
    );
    await producer.send([message]);
    const topics = new DeadLetterTopics(kafka, producer, replayCodec, replayPrefix);
    let letters: Awaited<ReturnType<DeadLetterTopics['readAll']>> = [];
    await expectEventually(
      async () => {
        letters = await topics.readAll([ConsumerGroup.LegacySyncLmsEvents]);
        expect(letters).toHaveLength(1);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(letters[0]).toMatchObject({
      reason: 'RETRY_BUDGET_EXCEEDED',
      ceId: message.headers.ce_id,
      eventType: EventType.CohortMembershipChanged,
      consumerGroup: ConsumerGroup.LegacySyncLmsEvents,
    });
    expect(applied).toEqual([]);

    defect = false;
    await topics.replay(letters);
    await expectEventually(() => expect(applied).toEqual([{ user: 300, replayed: true }]), { timeoutMs: 20_000 });
    // A second replay of the same dead letter is recognised by its ce_id: nothing applies twice.
    await topics.replay(letters);
    await expectConsistently(() => expect(applied).toHaveLength(1), { durationMs: 3000 });
    const decoded = await topics.decode(letters[0]);
    expect('event' in decoded && decoded.event.metadata.id).toBe(message.headers.ce_id);
  });

  it("sends, in order, more than one broker request holds (twenty 100 KB messages, over the broker's 1 MB)", async () => {
    const bigPrefix = `${prefix}-big`;
    await provisionTopics(kafka, allTopicSpecs(bigPrefix, 1));
    const topicName = fullTopicName(Topic.LmsCohortMembership, bigPrefix);
    const messages = Array.from({ length: 20 }, (_, i) => ({
      topic: topicName,
      key: Buffer.from('k'),
      value: Buffer.alloc(100_000, i),
      headers: { n: String(i) },
    }));
    await producer.send(messages);
    const reader = new TopicReader(kafka, [topicName]);
    await reader.start();
    try {
      await expectEventually(
        () => expect(reader.messages.map((m) => m.headers.n)).toEqual(messages.map((m) => m.headers.n)),
        { timeoutMs: 20_000 },
      );
    } finally {
      await reader.stop();
    }
  });
});
