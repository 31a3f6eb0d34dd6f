import { Logger } from '@nestjs/common';
import { ConsumerGroup, EventCodec, EventType, Header, Topic } from '@groups-sync/contracts';
import { Kafka } from 'kafkajs';
import { MessageProducer } from '../kafka/message-producer';
import { PoisonMessageError } from './consumer.errors';
import { EventConsumer } from './event-consumer';

/** The runner's bookkeeping, against a stand-in kafkajs consumer (no broker needed). */
function runner(commitOffsets: jest.Mock) {
  const consumer = { events: { GROUP_JOIN: 'join', CRASH: 'crash', DISCONNECT: 'disconnect' }, on: jest.fn(), commitOffsets };
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  const runner = new EventConsumer(kafka, {} as EventCodec, {} as MessageProducer, {
    group: ConsumerGroup.LegacySyncLmsEvents, topics: [Topic.LmsCohortMembership], handlers: {}, maxAttempts: 3, backoffMaxMs: 100,
  });
  // Private steps, driven one at a time.
  return runner as unknown as {
    done(topic: string, partition: number, offset: string): void;
    commit(): Promise<void>;
    withHeartbeats<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T>;
  };
}

describe('EventConsumer bookkeeping', () => {
  it('keeps offsets whose commit failed for the next commit, unless a newer one came meanwhile', async () => {
    const commitOffsets = jest.fn().mockRejectedValueOnce(new Error('rebalance in progress')).mockResolvedValue(undefined);
    const r = runner(commitOffsets);
    r.done('t', 0, '9');
    r.done('t', 1, '4');
    await r.commit(); // fails
    r.done('t', 1, '5'); // a newer offset for partition 1 came meanwhile
    await r.commit();
    expect(commitOffsets).toHaveBeenLastCalledWith(expect.arrayContaining([
      { topic: 't', partition: 0, offset: '10' }, { topic: 't', partition: 1, offset: '6' },
    ]));
    expect(commitOffsets.mock.calls[1][0]).toHaveLength(2);
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

describe('EventConsumer dead letters and warnings', () => {
  const cohortEvent = {
    type: EventType.CohortMembershipChanged, id: 'ce-1',
    data: { cohort: { user: { id: 7, is_active: true, pii: { username: 'ana.lima', email: 'ana@example.com', name: 'Ana Lima' } }, course: { course_key: 'course-v1:X+Y+Z' }, name: 'Section A' } },
  };
  /** An LMS refusal quoting the learner, as LMS errors do (their paths and messages). */
  const refusal = 'LMS DELETE /api/cohorts/v1/courses/course-v1:X+Y+Z/cohorts/5/users/ana.lima: 400 The user ana.lima (ana@example.com, Ana Lima) is not in the cohort';
  const PERSONAL = /ana\.lima|ana@example\.com|Ana Lima/;

  /** One message through the runner's private step, against stand-ins for kafkajs, the codec and the producer. */
  async function consume(handler: () => Promise<void>, maxAttempts: number) {
    const kafka = { consumer: () => ({ events: {}, on: jest.fn(), seek: jest.fn() }) } as unknown as Kafka;
    const codec = { decode: jest.fn().mockResolvedValue(cohortEvent) } as unknown as EventCodec;
    const send = jest.fn().mockResolvedValue(undefined);
    const consumer = new EventConsumer(kafka, codec, { send } as unknown as MessageProducer, {
      group: ConsumerGroup.LegacySyncLmsEvents, topics: [Topic.LmsCohortMembership], handlers: { [EventType.CohortMembershipChanged]: handler }, maxAttempts, backoffMaxMs: 10,
    });
    const message = { offset: '42', key: Buffer.from('course-v1:X+Y+Z'), value: Buffer.from('avro'), headers: { [Header.Type]: Buffer.from(EventType.CohortMembershipChanged), [Header.Id]: Buffer.from('ce-1') } };
    await (consumer as unknown as { handleChunk: (...args: unknown[]) => Promise<boolean> })
      .handleChunk('learning-cohort-membership', 0, [message], async () => undefined, () => () => undefined);
    return send.mock.calls.map(([records]) => records[0].headers as Record<string, Buffer | string>);
  }

  let warnings: string[];
  beforeEach(() => {
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((text: unknown) => void warnings.push(String(text)));
  });
  afterEach(() => jest.restoreAllMocks());

  it('dead-letters a poison message with ids in its headers, never the username, email or name', async () => {
    const [headers] = await consume(async () => { throw new PoisonMessageError('LMS_REJECTED', refusal); }, 3);
    const text = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
    expect(text).toMatchObject({ dlq_reason: 'LMS_REJECTED', dlq_original_offset: '42', [Header.Id]: 'ce-1' });
    expect(text.dlq_error_message).toContain('/cohorts/5/users/<user>: 400 The user <user>');
    expect(JSON.stringify(text)).not.toMatch(PERSONAL);
    expect(warnings.join('\n')).not.toMatch(PERSONAL);
  });

  it('keeps them out of the retry warning and of the dead letter when the retry budget runs out', async () => {
    const failing = async () => { throw new Error(refusal); };
    expect(await consume(failing, 3)).toEqual([]); // retried later: a warning only
    const [headers] = await consume(failing, 1);
    expect(String(headers.dlq_reason)).toBe('RETRY_BUDGET_EXCEEDED');
    expect(warnings).toEqual(expect.arrayContaining([expect.stringMatching(/retrying in \d+ ms: LMS DELETE .*\/users\/<user>/)]));
    expect(`${JSON.stringify(Object.values(headers).map(String))}\n${warnings.join('\n')}`).not.toMatch(PERSONAL);
  });
});
