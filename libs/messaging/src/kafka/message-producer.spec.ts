import { Kafka } from 'kafkajs';
import { MessageProducer, SEND_MAX_MESSAGES, SendTimeoutError } from './message-producer';

/** A kafkajs producer whose first connect never answers (a broker that restarted under it), then connects. */
function stuckOnce() {
  const calls = { connect: 0, disconnect: 0, sent: 0 };
  const producer = {
    on: () => undefined,
    connect: () => (++calls.connect === 1 ? new Promise<void>(() => undefined) : Promise.resolve()),
    disconnect: async () => void calls.disconnect++,
    sendBatch: async () => void calls.sent++,
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, calls };
}

const message = { topic: 't', key: Buffer.from('k'), value: Buffer.from('v'), headers: {} };

describe('MessageProducer', () => {
  it('gives up a send that hangs past its deadline, resets the producer, and the next send connects again', async () => {
    const { kafka, calls } = stuckOnce();
    const producer = new MessageProducer(kafka, 200);
    const started = Date.now();
    await expect(producer.send([message])).rejects.toBeInstanceOf(SendTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(calls.disconnect).toBe(1);
    await producer.send([message]);
    expect(calls).toEqual({ connect: 2, disconnect: 1, sent: 1 });
  });

  it('marks the timeout as an outage (waited out, not a defect)', () => {
    expect(new SendTimeoutError(1).dependencyUnavailable).toBe(true);
  });

  it('cuts a large send into requests of at most SEND_MAX_MESSAGES, in order', async () => {
    const requests: number[][] = [];
    const producer = {
      on: () => undefined,
      connect: async () => undefined,
      sendBatch: async ({ topicMessages }: { topicMessages: Array<{ messages: Array<{ value: Buffer }> }> }) =>
        void requests.push(topicMessages.flatMap((t) => t.messages.map((m) => Number(m.value.toString())))),
    };
    const messages = Array.from({ length: 2 * SEND_MAX_MESSAGES + 5 }, (_, i) => ({
      ...message,
      value: Buffer.from(String(i)),
    }));
    await new MessageProducer({ producer: () => producer } as unknown as Kafka).send(messages);
    expect(requests.map((r) => r.length)).toEqual([SEND_MAX_MESSAGES, SEND_MAX_MESSAGES, 5]);
    expect(requests.flat()).toEqual(messages.map((_, i) => i));
  });
});
