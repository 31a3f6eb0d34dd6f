import { Logger } from '@nestjs/common';
import { ConsumerGroup, EventCodec, EventType, Header, Topic } from '@groups-sync/contracts';
import { Kafka } from 'kafkajs';
import { loadConfig, ServiceConfig } from '@groups-sync/config';
import { MessageProducer } from '../kafka/message-producer';
import { messagingOptions } from '../messaging.options';
import { DependencyUnavailableError, PoisonMessageError } from './consumer.errors';
import { DeliveryAttempts } from './consumer-attempts';
import { CRASH_RESTART_DELAY_MS, EventConsumer, EventConsumerOptions } from './event-consumer';
import { EventConsumers } from './event-consumers';

/** The runner's bookkeeping, against a stand-in kafkajs consumer (no broker needed). */
function runner(
  commitOffsets: jest.Mock,
  options: Partial<EventConsumerOptions> = {},
  producer = {} as MessageProducer,
) {
  const listeners = new Map<string, (event: unknown) => void>();
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash', DISCONNECT: 'disconnect' },
    commitOffsets,
    seek: jest.fn(),
    on: jest.fn((name: string, listener: (event: unknown) => void) => listeners.set(name, listener)),
  };
  const kafka = { consumer: jest.fn(() => consumer) };
  const codec = {
    decode: jest.fn(async (_value: unknown, headers: Record<string, string>) => ({
      type: EventType.CohortMembershipChanged,
      data: {},
      metadata: { id: headers[Header.Id] },
    })),
  };
  const runner = new EventConsumer(kafka as unknown as Kafka, codec as unknown as EventCodec, producer, {
    group: ConsumerGroup.LegacySyncLmsEvents,
    topics: [Topic.LmsCohortMembership],
    handlers: {},
    maxAttempts: 3,
    backoffMaxMs: 100,
    ...options,
  });
  // Private steps, driven one at a time.
  return Object.assign(
    runner as unknown as {
      done(topic: string, partition: number, offset: string): void;
      commit(): Promise<void>;
      withHeartbeats<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T>;
      handleChunk(
        topic: string,
        partition: number,
        chunk: unknown[],
        heartbeat: () => Promise<void>,
        pause: () => () => void,
      ): Promise<boolean>;
      handleBatch(payload: unknown): Promise<void>;
    },
    { rebalance: () => listeners.get('join')!({ payload: {} }), kafka, codec },
  );
}

const message = (offset: string) => ({
  offset,
  key: null,
  value: Buffer.from('v'),
  headers: { [Header.Type]: Buffer.from(EventType.CohortMembershipChanged), [Header.Id]: Buffer.from(`ce-${offset}`) },
});

describe('EventConsumer bookkeeping', () => {
  it('keeps offsets whose commit failed for the next commit, unless a newer one came meanwhile', async () => {
    const commitOffsets = jest
      .fn()
      .mockRejectedValueOnce(new Error('rebalance in progress'))
      .mockResolvedValue(undefined);
    const r = runner(commitOffsets);
    r.done('t', 0, '9');
    r.done('t', 1, '4');
    await r.commit(); // fails
    r.done('t', 1, '5'); // a newer offset for partition 1 came meanwhile
    await r.commit();
    expect(commitOffsets).toHaveBeenLastCalledWith(
      expect.arrayContaining([
        { topic: 't', partition: 0, offset: '10' },
        { topic: 't', partition: 1, offset: '6' },
      ]),
    );
    expect(commitOffsets.mock.calls[1][0]).toHaveLength(2);
  });

  it('does not commit, after a rebalance, the offsets of a commit that failed before it', async () => {
    let failCommit!: (error: Error) => void;
    const commitOffsets = jest
      .fn()
      .mockImplementationOnce(() => new Promise((_resolve, reject) => (failCommit = reject)))
      .mockResolvedValue(undefined);
    const r = runner(commitOffsets);
    r.done('t', 0, '9');
    const committing = r.commit();
    // The group rebalances while the commit is on its way: partition 0 may be another member's now.
    r.rebalance();
    failCommit(new Error('The coordinator is not aware of this member'));
    await committing;
    await r.commit();
    expect(commitOffsets).toHaveBeenCalledTimes(1);
  });

  it('does not commit the offset of a batch that was handed over before a rebalance and ended after it', async () => {
    const commitOffsets = jest.fn().mockResolvedValue(undefined);
    let finish!: () => void;
    const r = runner(commitOffsets, {
      batch: {
        types: [EventType.CohortMembershipChanged],
        handle: () => new Promise<void>((resolve) => (finish = resolve)),
      },
      handlers: undefined,
    });
    const handling = r.handleChunk(
      't',
      0,
      [message('5')],
      async () => undefined,
      () => () => undefined,
    );
    await new Promise((resolve) => setImmediate(resolve));
    r.rebalance(); // the partition went to another member meanwhile
    finish();
    await handling;
    await r.commit();
    expect(commitOffsets).not.toHaveBeenCalled();
  });

  it("joins with a session short enough for a survivor to take a dead member's partitions within 10 s, or the one configured", () => {
    expect(runner(jest.fn()).kafka.consumer).toHaveBeenCalledWith(
      expect.objectContaining({ sessionTimeout: 6000, heartbeatInterval: 1000 }),
    );
    expect(
      runner(jest.fn(), { sessionTimeoutMs: 45_000, heartbeatIntervalMs: 3000 }).kafka.consumer,
    ).toHaveBeenCalledWith(expect.objectContaining({ sessionTimeout: 45_000, heartbeatInterval: 3000 }));
  });

  it('heartbeats while a batch waits on the schema registry, not only while its handler runs', async () => {
    jest.useFakeTimers();
    try {
      const heartbeat = jest.fn().mockResolvedValue(undefined);
      const r = runner(jest.fn(), {
        batch: { types: [EventType.CohortMembershipChanged], handle: async () => undefined },
        handlers: undefined,
      });
      let answer!: () => void;
      const decode = r.codec.decode.getMockImplementation()!;
      r.codec.decode.mockImplementationOnce(
        (...args) => new Promise((resolve) => (answer = () => resolve(decode(...args)))),
      );
      const resolveOffset = jest.fn();
      const handling = r.handleBatch({
        batch: { topic: 't', partition: 0, messages: [message('1')] },
        heartbeat,
        pause: () => () => undefined,
        isRunning: () => true,
        isStale: () => false,
        resolveOffset,
      });
      await jest.advanceTimersByTimeAsync(5000); // a registry that answers within its 5 s timeout
      expect(heartbeat.mock.calls.length).toBeGreaterThanOrEqual(4);
      answer();
      await handling;
      expect(resolveOffset).toHaveBeenCalledWith('1');
    } finally {
      jest.useRealTimers();
    }
  });

  it('heartbeats while a long handler runs, and stops when it ends', async () => {
    jest.useFakeTimers();
    try {
      const heartbeat = jest.fn().mockResolvedValue(undefined);
      const r = runner(jest.fn());
      let finish!: () => void;
      const running = r.withHeartbeats(heartbeat, () => new Promise<void>((resolve) => (finish = resolve)));
      await jest.advanceTimersByTimeAsync(10_000);
      expect(heartbeat.mock.calls.length).toBeGreaterThanOrEqual(3);
      finish();
      await running;
      const calls = heartbeat.mock.calls.length;
      await jest.advanceTimersByTimeAsync(10_000);
      expect(heartbeat).toHaveBeenCalledTimes(calls);
    } finally {
      jest.useRealTimers();
    }
  });
});

/** ConsumerAttempts' rules over a map: the database the members of a group share, across restarts. */
function sharedAttempts() {
  const rows = new Map<string, DeliveryAttempts>();
  const at = (group: string, topic: string, partition: number) => `${group}|${topic}|${partition}`;
  return {
    rows,
    async get(group: string, topic: string, partition: number) {
      const row = rows.get(at(group, topic, partition));
      return row && { ...row };
    },
    async begin(group: string, topic: string, partition: number, offset: string, lastOffset: string) {
      const row = rows.get(at(group, topic, partition));
      if (!row || BigInt(row.offset) < BigInt(offset))
        rows.set(at(group, topic, partition), { offset, lastOffset, attempts: 1 });
      else if (row.offset === offset) Object.assign(row, { attempts: row.attempts + 1, lastOffset });
      return { ...rows.get(at(group, topic, partition))! };
    },
    async set(group: string, topic: string, partition: number, offset: string, attempts: number) {
      const row = rows.get(at(group, topic, partition));
      if (!row || BigInt(row.offset) < BigInt(offset))
        rows.set(at(group, topic, partition), { offset, lastOffset: offset, attempts });
      else if (row.offset === offset) row.attempts = attempts;
    },
    async cleared(group: string, topic: string, partition: number, offset: string) {
      const row = rows.get(at(group, topic, partition));
      if (row && BigInt(row.offset) <= BigInt(offset)) rows.delete(at(group, topic, partition));
    },
  };
}

describe('EventConsumer retry budget across restarts (ConsumerAttempts)', () => {
  const topic = 'learning-cohort-membership';
  let sent: string[];
  let handled: string[];
  beforeEach(() => {
    sent = [];
    handled = [];
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.clearAllTimers();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** One member of the group, as a fresh process would start it; `behaviour` decides what handling each event does. */
  function member(
    attempts: ReturnType<typeof sharedAttempts>,
    behaviour: (id: string) => 'ok' | 'fail' | 'down' | 'die',
    maxAttempts = 3,
  ) {
    const producer = {
      send: jest.fn(
        async (records: Array<{ headers: Record<string, string> }>) =>
          void sent.push(`${records[0].headers[Header.Id]}:${records[0].headers.dlq_reason}`),
      ),
    };
    const r = runner(
      jest.fn().mockResolvedValue(undefined),
      {
        maxAttempts,
        backoffInitialMs: 10,
        backoffMaxMs: 10,
        handlers: undefined,
        attempts,
        batch: {
          types: [EventType.CohortMembershipChanged],
          handle: async (events) => {
            for (const e of events) {
              const outcome = behaviour(e.metadata.id);
              if (outcome === 'die') await new Promise(() => undefined); // the process is killed mid-handler: nothing after this runs
              if (outcome === 'fail') throw new Error(`handler bug on ${e.metadata.id}`);
              if (outcome === 'down') throw new DependencyUnavailableError('LMS unreachable');
              handled.push(e.metadata.id);
            }
          },
        },
      } as Partial<EventConsumerOptions>,
      producer as unknown as MessageProducer,
    );
    /** One delivery of the messages from `offsets`, as a fetch hands them over; settles when the batch ends (never, if the handler dies). */
    const deliver = (...offsets: string[]) =>
      r.handleBatch({
        batch: { topic, partition: 0, messages: offsets.map(message) },
        heartbeat: async () => undefined,
        pause: () => () => undefined,
        isRunning: () => true,
        isStale: () => false,
        resolveOffset: () => undefined,
      });
    return { deliver };
  }

  it('dead-letters a message that failed N times once the total reaches the budget, though the consumer was stopped and created again in between', async () => {
    const attempts = sharedAttempts();
    const first = member(attempts, () => 'fail');
    await first.deliver('7');
    await first.deliver('7');
    expect(sent).toEqual([]);
    const second = member(attempts, () => 'fail'); // a restart: nothing in memory
    await second.deliver('7');
    expect(sent).toEqual(['ce-7:RETRY_BUDGET_EXCEEDED']);
    expect(attempts.rows.size).toBe(0);
  });

  it('dead-letters a message that kills the process each time it is handled, without handling it again, once its deliveries reach the budget', async () => {
    const attempts = sharedAttempts();
    const deliveries: string[] = [];
    const dies = (id: string) => {
      deliveries.push(id);
      return id === 'ce-2' ? 'die' : 'ok';
    };
    // Each member is killed while it handles ce-2; the next one starts from the same committed offset.
    for (let restart = 0; restart < 6 && !sent.length; restart++) {
      void member(attempts, dies).deliver('1', '2', '3');
      await jest.advanceTimersByTimeAsync(50);
    }
    expect(sent).toEqual(['ce-2:RETRY_BUDGET_EXCEEDED']);
    // Three deliveries of ce-2 alone were counted (its first, in a batch, was blamed on the batch's first message).
    expect(deliveries.filter((id) => id === 'ce-2')).toHaveLength(4);
    expect(handled).toEqual(expect.arrayContaining(['ce-1', 'ce-3']));
  });

  it("does not count waits for an unavailable dependency, and forgets a message's attempts once it is handled", async () => {
    const attempts = sharedAttempts();
    let down = 5;
    const m = member(attempts, () => (down-- > 0 ? 'down' : 'ok'), 2);
    for (let i = 0; i < 6; i++) await m.deliver('4');
    expect(sent).toEqual([]);
    expect(handled).toEqual(['ce-4']);
    expect(attempts.rows.size).toBe(0);
  });
});

describe('EventConsumer dead letters and warnings', () => {
  const cohortEvent = {
    type: EventType.CohortMembershipChanged,
    id: 'ce-1',
    data: {
      cohort: {
        user: { id: 7, is_active: true, pii: { username: 'ana.lima', email: 'ana@example.com', name: 'Ana Lima' } },
        course: { course_key: 'course-v1:X+Y+Z' },
        name: 'Section A',
      },
    },
  };
  /** An LMS refusal quoting the learner, as LMS errors do (their paths and messages). */
  const refusal =
    'LMS DELETE /api/cohorts/v1/courses/course-v1:X+Y+Z/cohorts/5/users/ana.lima: 400 The user ana.lima (ana@example.com, Ana Lima) is not in the cohort';
  const PERSONAL = /ana\.lima|ana@example\.com|Ana Lima/;

  /** One message through the runner's private step, against stand-ins for kafkajs, the codec and the producer. */
  async function consume(handler: () => Promise<void>, maxAttempts: number) {
    const kafka = { consumer: () => ({ events: {}, on: jest.fn(), seek: jest.fn() }) } as unknown as Kafka;
    const codec = { decode: jest.fn().mockResolvedValue(cohortEvent) } as unknown as EventCodec;
    const send = jest.fn().mockResolvedValue(undefined);
    const consumer = new EventConsumer(kafka, codec, { send } as unknown as MessageProducer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topics: [Topic.LmsCohortMembership],
      handlers: { [EventType.CohortMembershipChanged]: handler },
      maxAttempts,
      backoffMaxMs: 10,
    });
    const message = {
      offset: '42',
      key: Buffer.from('course-v1:X+Y+Z'),
      value: Buffer.from('avro'),
      headers: { [Header.Type]: Buffer.from(EventType.CohortMembershipChanged), [Header.Id]: Buffer.from('ce-1') },
    };
    await (consumer as unknown as { handleChunk: (...args: unknown[]) => Promise<boolean> }).handleChunk(
      'learning-cohort-membership',
      0,
      [message],
      async () => undefined,
      () => () => undefined,
    );
    return send.mock.calls.map(([records]) => records[0].headers as Record<string, Buffer | string>);
  }

  let warnings: string[];
  beforeEach(() => {
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((text: unknown) => void warnings.push(String(text)));
  });
  afterEach(() => jest.restoreAllMocks());

  it('dead-letters a poison message with ids in its headers, never the username, email or name', async () => {
    const [headers] = await consume(async () => {
      throw new PoisonMessageError('LMS_REJECTED', refusal);
    }, 3);
    const text = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
    expect(text).toMatchObject({ dlq_reason: 'LMS_REJECTED', dlq_original_offset: '42', [Header.Id]: 'ce-1' });
    expect(text.dlq_error_message).toContain('/cohorts/5/users/<user>: 400 The user <user>');
    expect(JSON.stringify(text)).not.toMatch(PERSONAL);
    expect(warnings.join('\n')).not.toMatch(PERSONAL);
  });

  it('keeps them out of the retry warning and of the dead letter when the retry budget runs out', async () => {
    const failing = async () => {
      throw new Error(refusal);
    };
    expect(await consume(failing, 3)).toEqual([]); // retried later: a warning only
    const [headers] = await consume(failing, 1);
    expect(String(headers.dlq_reason)).toBe('RETRY_BUDGET_EXCEEDED');
    expect(warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/retrying in \d+ ms: LMS DELETE .*\/users\/<user>/)]),
    );
    expect(`${JSON.stringify(Object.values(headers).map(String))}\n${warnings.join('\n')}`).not.toMatch(PERSONAL);
  });
});

describe('EventConsumer fetch wait (KAFKA_FETCH_MAX_WAIT_MS)', () => {
  const build = (options: Partial<EventConsumerOptions>) => {
    const consumer = jest.fn().mockReturnValue({ events: {}, on: jest.fn() });
    new EventConsumer({ consumer } as unknown as Kafka, {} as EventCodec, {} as MessageProducer, {
      group: ConsumerGroup.LegacySyncLmsEvents,
      topics: [Topic.LmsCohortMembership],
      handlers: {},
      maxAttempts: 3,
      backoffMaxMs: 10,
      ...options,
    });
    return consumer.mock.calls[0][0] as { maxWaitTimeInMs: number };
  };

  it('asks kafkajs to hold an idle fetch 20 ms by default (latency), or as long as the setting says', () => {
    expect(build({}).maxWaitTimeInMs).toBe(20);
    expect(build({ fetchMaxWaitMs: 250 }).maxWaitTimeInMs).toBe(250);
  });

  it('takes the setting from the service config, through every consumer a service registers', () => {
    const config = loadConfig(ServiceConfig, { KAFKA_FETCH_MAX_WAIT_MS: '250' });
    const options = messagingOptions('x', config, { outbox: false });
    expect(options.consumerFetchMaxWaitMs).toBe(250);
    const consumer = jest.fn().mockReturnValue({ events: {}, on: jest.fn() });
    new EventConsumers(
      { consumer } as unknown as Kafka,
      {} as EventCodec,
      {} as MessageProducer,
      options,
      {} as never,
    ).register({
      group: ConsumerGroup.LegacySyncLmsEvents,
      topics: [Topic.LmsCohortMembership],
      handlers: {},
    });
    expect(consumer.mock.calls[0][0]).toMatchObject({ maxWaitTimeInMs: 250 });
    expect(messagingOptions('x', loadConfig(ServiceConfig, {}), { outbox: false }).consumerFetchMaxWaitMs).toBe(20);
  });
});

describe('EventConsumer after a crash', () => {
  /** A runner on a stand-in kafkajs consumer that records its starts; `crash` reports one as kafkajs does. */
  function crashable() {
    const listeners = new Map<string, (event: unknown) => void>();
    const consumer = {
      events: { GROUP_JOIN: 'join', CRASH: 'crash', DISCONNECT: 'disconnect' },
      on: (name: string, listener: (event: unknown) => void) => listeners.set(name, listener),
      connect: jest.fn().mockResolvedValue(undefined),
      subscribe: jest.fn().mockResolvedValue(undefined),
      run: jest.fn().mockResolvedValue(undefined),
      disconnect: jest.fn().mockResolvedValue(undefined),
      commitOffsets: jest.fn().mockResolvedValue(undefined),
    };
    const runner = new EventConsumer(
      { consumer: () => consumer } as unknown as Kafka,
      {} as EventCodec,
      {} as MessageProducer,
      {
        group: ConsumerGroup.LegacySyncLmsEvents,
        topics: [Topic.LmsCohortMembership],
        handlers: {},
        maxAttempts: 3,
        backoffMaxMs: 10,
      },
    );
    const crash = (restart: boolean) =>
      listeners.get('crash')!({ payload: { error: new Error('Failed to find group coordinator'), restart } });
    return { runner, consumer, crash };
  }
  // Lets the restart's promise chain (connect, subscribe, run) settle under fake timers.
  const settle = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('starts again a consumer kafkajs gave up on, after a delay, and again while starting fails', async () => {
    const { runner, consumer, crash } = crashable();
    await runner.start();
    consumer.connect.mockRejectedValueOnce(new Error('connect ECONNREFUSED'));
    crash(false);
    await jest.advanceTimersByTimeAsync(CRASH_RESTART_DELAY_MS - 1);
    expect(consumer.connect).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(consumer.connect).toHaveBeenCalledTimes(2); // the broker is still down
    expect(consumer.run).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(CRASH_RESTART_DELAY_MS);
    await settle();
    expect(consumer.connect).toHaveBeenCalledTimes(3);
    expect(consumer.subscribe).toHaveBeenCalledTimes(2);
    expect(consumer.run).toHaveBeenCalledTimes(2);
    await runner.stop();
  });

  it('leaves a crash kafkajs restarts from to kafkajs, and does not start a stopped consumer', async () => {
    const { runner, consumer, crash } = crashable();
    await runner.start();
    crash(true);
    await jest.advanceTimersByTimeAsync(CRASH_RESTART_DELAY_MS * 2);
    expect(consumer.connect).toHaveBeenCalledTimes(1);
    crash(false);
    await runner.stop();
    expect(jest.getTimerCount()).toBe(0); // no restart left pending to keep the process alive
    await jest.advanceTimersByTimeAsync(CRASH_RESTART_DELAY_MS * 2);
    expect(consumer.connect).toHaveBeenCalledTimes(1);
  });
});
