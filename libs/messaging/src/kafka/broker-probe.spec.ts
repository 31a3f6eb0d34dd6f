import { Kafka } from 'kafkajs';
import { MessagingHealth } from '../messaging-health';
import { MessagingOptions } from '../messaging.options';
import { BrokerProbe } from './broker-probe';

/** A kafkajs client whose admin connections are counted, and whose broker can be taken down. */
function fakeKafka() {
  const state = { admins: 0, connects: 0, disconnects: 0, brokerDown: false };
  const kafka = {
    admin: jest.fn(() => {
      state.admins += 1;
      let connected = false;
      return {
        connect: jest.fn(async () => {
          if (state.brokerDown) throw new Error('Connection error: connect ECONNREFUSED kafka-1.internal:9092');
          connected = true;
          state.connects += 1;
        }),
        describeCluster: jest.fn(async () => {
          if (state.brokerDown || !connected)
            throw new Error('Connection error: broker kafka-1.internal:9092 went away');
          return { brokers: [], controller: 1, clusterId: 'c' };
        }),
        disconnect: jest.fn(async () => {
          if (connected) state.disconnects += 1;
          connected = false;
        }),
      };
    }),
  };
  return { kafka: kafka as unknown as Kafka, state };
}

const health = (kafka: Kafka) =>
  new MessagingHealth(kafka, { all: [], streams: [] } as never, null, { service: 'test' } as MessagingOptions);

describe('MessagingHealth broker probe (/health/consumers)', () => {
  it('asks the broker over one admin connection, however many times it is asked', async () => {
    const { kafka, state } = fakeKafka();
    const probe = health(kafka);
    for (let i = 0; i < 10; i++) await expect(probe.brokerReachable()).resolves.toBe(true);
    await Promise.all(Array.from({ length: 10 }, () => expect(probe.brokerReachable()).resolves.toBe(true)));
    expect(state).toMatchObject({ admins: 1, connects: 1, disconnects: 0 });
    await probe.onApplicationShutdown();
    expect(state.disconnects).toBe(1);
  });

  it('answers false while the broker is down, and connects again, once, when it is back', async () => {
    const { kafka, state } = fakeKafka();
    const probe = health(kafka);
    await expect(probe.brokerReachable()).resolves.toBe(true);
    state.brokerDown = true;
    for (let i = 0; i < 3; i++) await expect(probe.brokerReachable()).resolves.toBe(false);
    state.brokerDown = false;
    for (let i = 0; i < 5; i++) await expect(probe.brokerReachable()).resolves.toBe(true);
    expect(state.connects).toBe(2);
  });
});

describe('BrokerProbe', () => {
  it('drops a connect that never answers: the next ask opens a new connection instead of waiting on it', async () => {
    let admins = 0;
    const kafka = {
      admin: () => {
        const hangs = ++admins === 1;
        return {
          connect: () => (hangs ? new Promise<void>(() => undefined) : Promise.resolve()),
          describeCluster: async () => ({ brokers: [], controller: 1, clusterId: 'c' }),
          disconnect: async () => undefined,
        };
      },
    } as unknown as Kafka;
    const probe = new BrokerProbe(kafka, 100);
    await expect(probe.reachable()).resolves.toBe(false);
    await expect(probe.reachable()).resolves.toBe(true);
    expect(admins).toBe(2);
  });
});
