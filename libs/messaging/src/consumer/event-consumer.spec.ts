import { ConsumerGroup, EventCodec, Topic } from '@groups-sync/contracts';
import { Kafka } from 'kafkajs';
import { MessageProducer } from '../kafka/message-producer';
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
