import { register } from 'prom-client';
import Redis from 'ioredis';
import {
  allTopicSpecs,
  ConfluentSchemaRegistry,
  ConsumerGroup,
  DecodedEvent,
  deadLetterTopic,
  EventCodec,
  EventType,
  fullTopicName,
  Header,
  newEventMetadata,
  SCHEMALESS,
  streamEntryFields,
  Topic,
} from '@groups-sync/contracts';
import { expectEventually, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { Kafka } from 'kafkajs';
import { BatchHandler } from '../consumer/event-consumer';
import { PoisonMessageError } from '../consumer/consumer.errors';
import { DeadLetterHeader } from '../consumer/dead-letter';
import { DeadLetterTopics } from '../consumer/dead-letter-topics';
import { createKafka, provisionTopics } from '../kafka/kafka-client';
import { MessageProducer } from '../kafka/message-producer';
import { TopicReader } from '../kafka/topic-reader';
import { StreamConsumer, StreamGap } from './stream-consumer';
import { StreamProducer } from './stream-producer';

const env = stackEnv();
const COURSE = 'course-v1:T+T+T';

function cohortEvent(user: number) {
  return {
    cohort: {
      user: { id: user, is_active: true, pii: { username: `u${user}`, email: `u${user}@example.com`, name: '' } },
      course: { course_key: COURSE, display_name: '', start: null, end: null },
      name: 'C',
    },
  };
}

describe('StreamConsumer on a real Redis (event-bus-redis streams)', () => {
  let kafka: Kafka;
  let kafkaProducer: MessageProducer;
  let redis: Redis;
  const running: Array<{ stop(): Promise<unknown> }> = [];
  let prefix: string;
  let codec: EventCodec;
  let lms: StreamProducer;
  let stream: string;

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'it-streams', brokers: env.KAFKA_BROKERS.split(',') });
    kafkaProducer = new MessageProducer(kafka);
    redis = new Redis(env.EVENT_BUS_REDIS_CONNECTION_URL);
  });

  beforeEach(async () => {
    // A prefix per test: streams, groups and dead-letter topics of its own.
    prefix = `it-${uniqueSuffix()}`;
    await provisionTopics(kafka, allTopicSpecs(prefix, 1));
    codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), prefix);
    lms = new StreamProducer(env.EVENT_BUS_REDIS_CONNECTION_URL, codec, prefix);
    stream = fullTopicName(Topic.LmsCohortMembership, prefix);
  });

  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop();
    await lms.disconnect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  afterAll(async () => {
    await kafkaProducer.disconnect();
    redis.disconnect();
  });

  const send = (...users: number[]) =>
    lms.send(
      users.map((u) => ({
        type: EventType.CohortMembershipChanged,
        data: cohortEvent(u),
        metadata: newEventMetadata(EventType.CohortMembershipChanged, 'lms', { id: `event-${u}` }),
      })),
    );

  function consumer(
    handle: BatchHandler['handle'],
    options: {
      instanceId?: string;
      maxAttempts?: number;
      onGap?: (gap: StreamGap) => Promise<void>;
      leaseMs?: number;
    } = {},
  ) {
    const c = new StreamConsumer(env.EVENT_BUS_REDIS_CONNECTION_URL, codec, kafkaProducer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      groupName: fullTopicName(ConsumerGroup.LegacySyncLmsEvents, prefix),
      streams: [stream],
      handler: { types: [EventType.CohortMembershipChanged], handle },
      instanceId: options.instanceId ?? 'a',
      deadLetterTopic: fullTopicName(deadLetterTopic(ConsumerGroup.LegacySyncLmsEvents), prefix),
      maxAttempts: options.maxAttempts ?? 3,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
      leaseMs: options.leaseMs ?? 1500,
      gapsKey: `${prefix}-gaps`,
      onGap: options.onGap,
    });
    running.push(c);
    return c;
  }

  async function deadLetters() {
    const reader = new TopicReader(kafka, [fullTopicName(deadLetterTopic(ConsumerGroup.LegacySyncLmsEvents), prefix)]);
    running.push(reader);
    await reader.start();
    return reader;
  }

  const users = (events: DecodedEvent[]) =>
    events.map((e) => (e as DecodedEvent<EventType.CohortMembershipChanged>).data.cohort.user.id);
  const pendingCount = async () =>
    Number(((await redis.xpending(stream, fullTopicName(ConsumerGroup.LegacySyncLmsEvents, prefix))) as [number])[0]);

  it('reads the entries event-bus-redis writes, in order, and acknowledges each only after its handler returned', async () => {
    await send(1, 2, 3);
    const applied: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await consumer(async (events) => {
      await gate;
      applied.push(...users(events));
    }).start();
    // Delivered, not yet handled: pending, not acknowledged.
    await expectEventually(async () => expect(await pendingCount()).toBe(3));
    release();
    await expectEventually(() => expect(applied).toEqual([1, 2, 3]));
    await expectEventually(async () => expect(await pendingCount()).toBe(0));
    await send(4);
    await expectEventually(() => expect(applied).toEqual([1, 2, 3, 4]));
  });

  it("the entry fields are event-bus-redis's: type, id, source, time, minorversion, sourcehost, sourcelib, event_data (schemaless Avro)", async () => {
    await send(7);
    const [[, flat]] = (await redis.xrangeBuffer(stream, '-', '+')) as Array<[Buffer, Buffer[]]>;
    const names = flat.filter((_, i) => i % 2 === 0).map((b) => b.toString());
    expect(names).toEqual(['type', 'id', 'source', 'time', 'minorversion', 'sourcehost', 'sourcelib', 'event_data']);
    const value = (name: string) => flat[names.indexOf(name) * 2 + 1];
    expect(value('type').toString()).toBe(EventType.CohortMembershipChanged);
    expect(value('time').toString()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(value('sourcelib').toString()).toMatch(/^\d+\.\d+\.\d+$/);
    // No magic byte: the Avro record starts with the user id (zigzag varint of 7 is 14).
    expect(value('event_data')[0]).toBe(14);
    expect(
      codec.decodeSchemaless(newEventMetadata(EventType.CohortMembershipChanged, 'lms'), value('event_data')).data,
    ).toEqual(cohortEvent(7));
  });

  it('dead-letters garbage entries (not Avro, unknown type, no id) to Kafka with the reason, and goes on', async () => {
    const fields = streamEntryFields(
      newEventMetadata(EventType.CohortMembershipChanged, 'lms', { id: 'garbage-1' }),
      Buffer.from('not avro at all'),
    );
    await redis.xadd(stream, '*', ...fields.flat());
    const unknown = streamEntryFields(
      newEventMetadata('org.example.unknown.v1', 'lms', { id: 'unknown-1' }),
      codec.encodeSchemaless(EventType.CohortMembershipChanged, cohortEvent(2)),
    );
    await redis.xadd(stream, '*', ...unknown.flat());
    const noId = streamEntryFields(
      newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
      codec.encodeSchemaless(EventType.CohortMembershipChanged, cohortEvent(3)),
    );
    await redis.xadd(stream, '*', ...noId.filter(([name]) => name !== 'id').flat());
    await send(4);
    const undecodable = async () =>
      ((await register.getSingleMetric('dead_letters_total')?.get())?.values ?? [])
        .filter((v) => v.labels.reason === 'UNDECODABLE_VALUE')
        .reduce((n, v) => n + v.value, 0);
    const before = await undecodable();
    const applied: number[] = [];
    await consumer(async (events) => {
      applied.push(...users(events));
    }).start();
    const dlq = await deadLetters();
    await expectEventually(() => expect(applied).toEqual([4]));
    await expectEventually(() => expect(dlq.messages).toHaveLength(3));
    const reasons = dlq.messages.map((m) => [m.headers[Header.Id] ?? null, m.headers[DeadLetterHeader.Reason]]);
    expect(reasons).toEqual([
      ['garbage-1', 'UNDECODABLE_VALUE'],
      ['unknown-1', 'UNKNOWN_EVENT_TYPE'],
      [null, 'MISSING_FIELD'],
    ]);
    expect(dlq.messages[0].headers[DeadLetterHeader.OriginalTopic]).toBe(stream);
    expect(dlq.messages[0].value!.toString()).toBe('not avro at all');
    expect(await undecodable()).toBe(before + 1); // counted as the Kafka runner counts its dead letters
    expect(await pendingCount()).toBe(0);
  });

  it('dead-letters a poison event and one over its retry budget; `dlq` decodes and replays them through the retry topic', async () => {
    await send(5, 6, 8);
    const applied: number[] = [];
    await consumer(
      async (events) => {
        for (const e of events) {
          const user = users([e])[0];
          if (user === 5) throw new PoisonMessageError('INVALID', 'no such cohort', e);
          if (user === 6) throw new Error('keeps failing');
        }
        applied.push(...users(events));
      },
      { maxAttempts: 2 },
    ).start();
    const dlq = await deadLetters();
    await expectEventually(() => expect(applied).toEqual([8]));
    await expectEventually(() =>
      expect(dlq.messages.map((m) => m.headers[DeadLetterHeader.Reason])).toEqual(['INVALID', 'RETRY_BUDGET_EXCEEDED']),
    );
    expect(dlq.messages[0].headers[Header.ValueFraming]).toBe(SCHEMALESS);
    const letters = await new DeadLetterTopics(kafka, kafkaProducer, codec, prefix).readAll([
      ConsumerGroup.LegacySyncLmsEvents,
    ]);
    const decoded = await new DeadLetterTopics(kafka, kafkaProducer, codec, prefix).decode(letters[0]);
    expect('event' in decoded && decoded.event.data).toEqual(cohortEvent(5));
    // Usernames and emails stay out of the reason.
    expect(dlq.messages[1].headers[DeadLetterHeader.ErrorMessage]).not.toContain('u6@example.com');
  });

  it('one instance reads a stream at a time; when it dies, another claims its pending entries and handles them first, in order', async () => {
    const applied: Array<[string, number]> = [];
    // Instance a takes 1..3 and dies before acknowledging them (its lease is left to lapse).
    await send(1, 2, 3);
    let stall!: () => void;
    let dead = false;
    let stalled = false;
    const a = consumer(
      async (events) => {
        if (!stalled) {
          stalled = true;
          await new Promise<void>((r) => (stall = r));
        }
        if (!dead) applied.push(...users(events).map((u) => ['a', u] as [string, number]));
      },
      { instanceId: 'a', leaseMs: 1500 },
    );
    await a.start();
    await expectEventually(async () => expect(await pendingCount()).toBe(3));
    const b = consumer(
      async (events) => {
        applied.push(...users(events).map((u) => ['b', u] as [string, number]));
      },
      { instanceId: 'b', leaseMs: 1500 },
    );
    await b.start();
    await send(4);
    // b waits while a holds the lease.
    await new Promise((r) => setTimeout(r, 700));
    expect(applied).toEqual([]);
    // "kill -9" of a: its lease is no longer renewed and lapses on Redis's clock (a itself stopped
    // counting on it a third of the lease earlier); b takes the stream and a's pending entries over.
    (a as unknown as { readers: Array<{ lease: { renew(): Promise<void> } }> }).readers.forEach((r) => {
      r.lease.renew = async () => undefined;
    });
    await expectEventually(
      () =>
        expect(applied).toEqual([
          ['b', 1],
          ['b', 2],
          ['b', 3],
          ['b', 4],
        ]),
      { timeoutMs: 10_000 },
    );
    dead = true;
    stall();
    await expectEventually(async () => expect(await pendingCount()).toBe(0));
  });

  it('reports entries trimmed before they were read (and a deleted stream) as gaps, and reads on from what is left', async () => {
    const found: StreamGap[] = [];
    const applied: number[] = [];
    const c = consumer(
      async (events) => {
        applied.push(...users(events));
      },
      {
        onGap: async (gap) => {
          found.push(gap);
        },
      },
    );
    await send(1);
    await c.start();
    await expectEventually(() => expect(applied).toEqual([1]));
    await c.stop();
    // While no one reads, the LMS writes on and trims (MAXLEN exact here, as the approximate one would do past a node).
    for (let u = 10; u < 20; u++) await send(u);
    await redis.xtrim(stream, 'MAXLEN', 3);
    const again = consumer(
      async (events) => {
        applied.push(...users(events));
      },
      {
        onGap: async (gap) => {
          found.push(gap);
        },
      },
    );
    await again.start();
    await expectEventually(() => expect(found.map((g) => g.reason)).toEqual(['trimmed']));
    expect(found[0].lost).toBe(7);
    await expectEventually(() => expect(applied).toEqual([1, 17, 18, 19]));
    expect(
      JSON.parse((await redis.hget(`${prefix}-gaps`, `${ConsumerGroup.LegacySyncLmsEvents}|${stream}`))!),
    ).toMatchObject({ reason: 'trimmed' });
    // The stream deleted and written anew (a Redis flushed or replaced): the group is gone with it.
    await redis.del(stream);
    await send(30);
    await expectEventually(() => expect(found.map((g) => g.reason)).toEqual(['trimmed', 'stream_recreated']), {
      timeoutMs: 10_000,
    });
    await expectEventually(() => expect(applied).toEqual([1, 17, 18, 19, 30]));
  });

  it('finds a gap opened while it reads, before it reads past it', async () => {
    const found: StreamGap[] = [];
    const applied: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await send(1);
    await consumer(
      async (events) => {
        if (users(events).includes(1)) await gate;
        applied.push(...users(events));
      },
      {
        onGap: async (gap) => {
          found.push(gap);
        },
      },
    ).start();
    await expectEventually(async () => expect(await pendingCount()).toBe(1));
    // The reader is busy with 1 while the LMS writes on and trims what it has not read.
    for (let u = 40; u < 60; u++) await send(u);
    await redis.xtrim(stream, 'MAXLEN', 3);
    release();
    await expectEventually(() => expect(found.map((g) => g.reason)).toEqual(['trimmed']));
    await expectEventually(() => expect(applied.slice(-3)).toEqual([57, 58, 59]));
    // Nothing read twice, in stream order.
    expect(applied).toEqual([...applied].sort((a, b) => a - b));
    expect(new Set(applied).size).toBe(applied.length);
  });

  it('reports the entries a dead reader held that were trimmed before the next reader claimed them', async () => {
    const found: StreamGap[] = [];
    await send(1, 2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = consumer(async () => gate, { instanceId: 'a', leaseMs: 1500 });
    await a.start();
    await expectEventually(async () => expect(await pendingCount()).toBe(2));
    (a as unknown as { readers: Array<{ lease: { renew(): Promise<void> } }> }).readers.forEach((r) => {
      r.lease.renew = async () => undefined;
    });
    // The LMS writes on and trims the entries a held.
    await send(3);
    await redis.xtrim(stream, 'MAXLEN', 1);
    const applied: number[] = [];
    await consumer(
      async (events) => {
        applied.push(...users(events));
      },
      {
        instanceId: 'b',
        leaseMs: 1500,
        onGap: async (gap) => {
          found.push(gap);
        },
      },
    ).start();
    await expectEventually(() => expect(applied).toEqual([3]), { timeoutMs: 10_000 });
    expect(found.filter((g) => g.reason === 'pending_entry_trimmed')).toHaveLength(2);
    release(); // a, paused until now as a killed process would be, is stopped with the others
  });
});
