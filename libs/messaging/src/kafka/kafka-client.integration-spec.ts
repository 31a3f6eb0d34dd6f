import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { createKafka, deleteTopicsWithPrefix, provisionTopics } from './kafka-client';

describe('deleteTopicsWithPrefix against the real broker', () => {
  const kafka = createKafka({ clientId: 'cleanup-test', brokers: stackEnv().KAFKA_BROKERS.split(',') });
  const run = `cleanup-${uniqueSuffix()}`;

  afterAll(() => deleteTopicsWithPrefix(kafka, `${run}`).catch(() => undefined));

  it('deletes the topics of one run and leaves every other topic alone', async () => {
    await provisionTopics(
      kafka,
      [`${run}-a-one`, `${run}-a-two`, `${run}-b-one`].map((name) => ({ name, partitions: 1 })),
    );
    expect(await deleteTopicsWithPrefix(kafka, `${run}-a-`)).toBe(2);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listTopics()).filter((t) => t.startsWith(run)).sort()).toEqual([`${run}-b-one`]);
    } finally {
      await admin.disconnect();
    }
  });

  it("refuses a prefix too short to be one run's", async () => {
    await expect(deleteTopicsWithPrefix(kafka, 'e')).rejects.toThrow(/prefix as short as "e"/);
  });
});
