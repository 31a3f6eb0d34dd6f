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
import { packedEventId } from './outbox-batch';
import { OutboxMessage } from './outbox-message.entity';
import { OutboxRelay } from './outbox-relay';
import { OutboxWriter } from './outbox.writer';

const env = stackEnv();

function linkChanged(groupId: string, n: number) {
  return {
    legacy_link: {
      group_id: groupId,
      legacy_type: 'cohort' as const,
      legacy_id: String(n),
      course_key: 'course-v1:T+T+T',
      occurred_at: '2026-11-22T00:00:00+00:00',
    },
  };
}

describe('OutboxRelay on a real broker and database', () => {
  const prefix = `it-${uniqueSuffix()}`;
  const dbName = `outbox_${prefix.replace(/-/g, '_')}_test`;
  let kafka: Kafka;
  let dataSource: DataSource;
  let codec: EventCodec;
  const relays: OutboxRelay[] = [];
  const producers: MessageProducer[] = [];

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'it', brokers: env.KAFKA_BROKERS.split(',') });
    await provisionTopics(kafka, allTopicSpecs(prefix, 3));
    codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), prefix);
    const flavor = await ensureDatabase(env.MYSQL_URL, dbName);
    dataSource = await new DataSource(
      dataSourceOptions({
        url: env.MYSQL_URL,
        database: dbName,
        flavor,
        entities: [OutboxMessage],
        migrations: MESSAGING_MIGRATIONS,
      }),
    ).initialize();
  });

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await Promise.all(producers.map((p) => p.disconnect()));
    await dataSource.destroy();
    await dropDatabase(env.MYSQL_URL, dbName);
  });

  function relay(): OutboxRelay {
    const producer = new MessageProducer(kafka);
    producers.push(producer);
    const r = new OutboxRelay(dataSource, codec, producer, { service: 'it', pollIntervalMs: 20 });
    relays.push(r);
    return r;
  }

  it('publishes rows committed with a change, in id order, once, with one leader among two relays', async () => {
    const writer = new OutboxWriter('it');
    const ids: string[] = [];
    for (let n = 1; n <= 20; n++) {
      await dataSource.transaction(async (manager) => {
        ids.push(await writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged(`g-${n % 2}`, n)));
      });
    }
    // A rolled-back change leaves no event behind.
    await dataSource
      .transaction(async (manager) => {
        await writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged('g-0', 999));
        throw new Error('rollback');
      })
      .catch(() => undefined);

    const reader = new TopicReader(kafka, [fullTopicName(Topic.UserGroupLifecycle, prefix)]);
    await reader.start();
    const [a, b] = [relay(), relay()];
    a.start();
    b.start();

    await expectEventually(() => expect(reader.messages).toHaveLength(20), { timeoutMs: 30_000 });
    await expectEventually(async () =>
      expect(Number((await dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL'))[0].n)).toBe(0),
    );
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    expect(new Set(reader.messages.map((m) => m.headers.ce_id))).toEqual(new Set(ids));
    for (const group of ['g-0', 'g-1']) {
      const decoded = await Promise.all(reader.messages.map((m) => codec.decode(m.value, m.headers, m.key)));
      const order = decoded
        .filter((e) => (e.data as ReturnType<typeof linkChanged>).legacy_link.group_id === group)
        .map((e) => Number((e.data as ReturnType<typeof linkChanged>).legacy_link.legacy_id));
      expect(order).toEqual([...order].sort((x, y) => x - y));
      expect(order).toHaveLength(10);
    }
    await reader.stop();
  });

  it("publishes a packed row as its events, each with an id derived from the row's, in order with the rows around it; parks a damaged one", async () => {
    const writer = new OutboxWriter('it');
    const reader = new TopicReader(kafka, [fullTopicName(Topic.UserGroupLifecycle, prefix)]);
    await reader.start();
    if (!relays.some((r) => r.isLeader)) relay().start();
    await dataSource.transaction(async (manager) => {
      await writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged('g-pack', 0));
      await writer.appendPacked(
        manager,
        EventType.UserGroupLegacyLinkChanged,
        Array.from({ length: 2500 }, (_, i) => linkChanged('g-pack', i + 1)),
      );
      await writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged('g-pack', 2501));
    });
    const rows: Array<{ event_id: string; event_count: number }> = await dataSource.query(
      "SELECT event_id, event_count FROM outbox WHERE aggregate_id = 'g-pack' ORDER BY id",
    );
    expect(rows.map((r) => Number(r.event_count))).toEqual([1, 1000, 1000, 500, 1]);

    const ofGroup = () => reader.messages.filter((m) => m.headers.ce_id && String(m.value).includes('g-pack'));
    await expectEventually(() => expect(ofGroup()).toHaveLength(2502), { timeoutMs: 30_000 });
    const decoded = await Promise.all(ofGroup().map((m) => codec.decode(m.value, m.headers, m.key)));
    expect(decoded.map((e) => Number((e.data as ReturnType<typeof linkChanged>).legacy_link.legacy_id))).toEqual(
      Array.from({ length: 2502 }, (_, i) => i),
    );
    const expectedIds = [
      rows[0].event_id,
      ...rows
        .slice(1, 4)
        .flatMap((r) => Array.from({ length: Number(r.event_count) }, (_, i) => packedEventId(r.event_id, i))),
      rows[4].event_id,
    ];
    expect(ofGroup().map((m) => m.headers.ce_id)).toEqual(expectedIds);
    await expectEventually(async () =>
      expect(
        Number(
          (
            await dataSource.query("SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = 'g-pack' AND sent_at IS NULL")
          )[0].n,
        ),
      ).toBe(0),
    );

    // A row that says it packs more events than it does can never be published: parked, with the reason.
    await dataSource.query(
      "INSERT INTO outbox (event_id, event_type, aggregate_id, order_key, payload, event_count, occurred_at) SELECT UUID(), event_type, 'g-damaged', NULL, payload, 1001, occurred_at FROM outbox WHERE aggregate_id = 'g-pack' AND event_count = 1000 LIMIT 1",
    );
    await expectEventually(async () =>
      expect(
        (await dataSource.query("SELECT parked_at, last_error FROM outbox WHERE aggregate_id = 'g-damaged'"))[0],
      ).toEqual({
        parked_at: expect.any(Date),
        last_error: 'INVALID_PACKED_ROW: the row says 1001 events and packs 1000',
      }),
    );
    await dataSource.query("DELETE FROM outbox WHERE aggregate_id = 'g-damaged'"); // as an operator would: it holds back its key's later rows
    await reader.stop();
  });

  it('prunes sent rows past their retention and keeps unsent ones', async () => {
    const writer = new OutboxWriter('it');
    await dataSource.transaction((manager) =>
      writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged('g-old', 1)),
    );
    // Once the running relays have published it (their "sent" would overwrite an earlier change), it ages.
    await expectEventually(async () =>
      expect(
        (await dataSource.query("SELECT sent_at FROM outbox WHERE aggregate_id = 'g-old'"))[0].sent_at,
      ).not.toBeNull(),
    );
    await dataSource.query("UPDATE outbox SET sent_at = NOW(6) - INTERVAL 8 DAY WHERE aggregate_id = 'g-old'");
    await dataSource.query(
      "INSERT INTO outbox (event_id, event_type, aggregate_id, payload, occurred_at) VALUES (UUID(), 't', 'g-unsent', '{}', 'x')",
    );
    await dataSource.query("UPDATE outbox SET parked_at = NOW(6) WHERE aggregate_id = 'g-unsent'"); // keep the running relays off it

    const pruned = await relays[0].prune();

    expect(pruned.outbox).toBe(1);
    const left = await dataSource.query("SELECT aggregate_id FROM outbox WHERE aggregate_id IN ('g-old', 'g-unsent')");
    expect(left).toEqual([{ aggregate_id: 'g-unsent' }]);
  });

  it("bounds a send by payload bytes as well as events: large rows go a few at a time, under the broker's 1 MB record batch", async () => {
    await Promise.all(relays.map((other) => other.stop())); // only this relay publishes now
    const producer = new MessageProducer(kafka);
    producers.push(producer);
    const sends: number[][] = [];
    const send = producer.send.bind(producer);
    producer.send = async (messages) => {
      sends.push(messages.map((m) => m.value?.length ?? 0));
      return send(messages);
    };
    const writer = new OutboxWriter('it');
    const ids = await dataSource.transaction((manager) =>
      writer.appendMany(
        manager,
        EventType.UserGroupLegacyLinkChanged,
        Array.from({ length: 10 }, (_, n) => ({
          legacy_link: { ...linkChanged('g-large', n).legacy_link, legacy_id: `${n}-${'x'.repeat(200_000)}` },
        })),
      ),
    );
    const r = new OutboxRelay(dataSource, codec, producer, { service: 'it', pollIntervalMs: 20 });
    relays.push(r);
    r.start();
    await expectEventually(
      async () =>
        expect(
          Number(
            (
              await dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE event_id IN (?) AND sent_at IS NULL', [
                ids,
              ])
            )[0].n,
          ),
        ).toBe(0),
      { timeoutMs: 30_000 },
    );
    const large = sends.filter((sizes) => sizes.some((bytes) => bytes > 200_000));
    expect(large.flat()).toHaveLength(10); // each sent once: no send was refused and tried again row by row
    expect(Math.max(...large.map((sizes) => sizes.reduce((a, b) => a + b, 0)))).toBeLessThan(1_000_000);
    expect(Math.max(...large.map((sizes) => sizes.length))).toBe(4); // 900 kB of payload: four rows of 200 kB
  });

  it('never misses a wake-up: a change committed while the relay is between its read and its sleep is published at once, not on the poll interval', async () => {
    const writer = new OutboxWriter('it');
    const producer = new MessageProducer(kafka);
    producers.push(producer);
    await Promise.all(relays.map((other) => other.stop())); // only this relay publishes now
    await dataSource.query('UPDATE outbox SET sent_at = NOW(6) WHERE sent_at IS NULL');
    const r = new OutboxRelay(dataSource, codec, producer, { service: 'it-wake', pollIntervalMs: 60_000 });
    relays.push(r);
    const append = (n: number) =>
      dataSource.transaction((manager) =>
        writer.append(manager, EventType.UserGroupLegacyLinkChanged, linkChanged('g-wake', n)),
      );
    // A writer commits and notifies right after the relay's read found nothing, before it sleeps.
    const query = dataSource.query.bind(dataSource);
    let eventId: string | undefined;
    dataSource.query = (async (sql: string, params?: unknown[]) => {
      const rows = await query(sql, params);
      if (/^SELECT id, event_count, payload_bytes/.test(sql) && !rows.length && !eventId) {
        eventId = await append(1);
        r.notify();
      }
      return rows;
    }) as typeof dataSource.query;
    try {
      r.start();
      await expectEventually(() => expect(eventId).toBeDefined());
      await expectEventually(
        async () =>
          expect(
            (await dataSource.query('SELECT sent_at FROM outbox WHERE event_id = ?', [eventId]))[0].sent_at,
          ).not.toBeNull(),
        { timeoutMs: 5000 },
      );
    } finally {
      dataSource.query = query;
    }
  });
});
