import { DataSource } from 'typeorm';
import {
  allTopicSpecs,
  ConfluentSchemaRegistry,
  ConsumerGroup,
  EventCodec,
  EventType,
  newEventMetadata,
} from '@groups-sync/contracts';
import {
  createKafka,
  DeadLetterPages,
  deadLetterHeaders,
  DeadLetterTopics,
  MessageProducer,
  provisionTopics,
} from '@groups-sync/messaging';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { LEGACY_SYNC_MIGRATIONS } from '../migrations';
import { DeadLetters } from './dead-letters.service';

/** Dead letters on a real broker, more of them than a page, read through the operators' service. */
const env = stackEnv();
const prefix = `dlq-${uniqueSuffix()}`;
const DB = `legacy_dead_letters_test_${uniqueSuffix()}`;
const GROUP = ConsumerGroup.LegacySyncLmsEvents;
const LETTERS = 7;
let kafka: ReturnType<typeof createKafka>;
let producer: MessageProducer;
let dataSource: DataSource;
let pages: DeadLetterPages;
let deadLetters: DeadLetters;
let ids: string[];

function cohortEvent(user: number) {
  return {
    cohort: {
      user: {
        id: user,
        is_active: true,
        pii: { username: `learner${user}`, email: `learner${user}@example.com`, name: `Learner ${user}` },
      },
      course: { course_key: 'course-v1:T+DLQ+1', display_name: '', start: null, end: null },
      name: 'C',
    },
  };
}

beforeAll(async () => {
  kafka = createKafka({ clientId: 'dlq-it', brokers: env.KAFKA_BROKERS.split(',') });
  await provisionTopics(kafka, allTopicSpecs(prefix, 1));
  producer = new MessageProducer(kafka);
  const codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), prefix);
  const topics = new DeadLetterTopics(kafka, producer, codec, prefix);
  pages = new DeadLetterPages(kafka, topics);
  const flavor = await ensureDatabase(env.MYSQL_URL, DB);
  dataSource = await new DataSource(
    dataSourceOptions({
      url: env.MYSQL_URL,
      database: DB,
      flavor,
      entities: [],
      migrations: LEGACY_SYNC_MIGRATIONS,
    }),
  ).initialize();
  deadLetters = new DeadLetters(topics, pages, dataSource);

  const letters = [];
  for (let user = 1; user <= LETTERS; user++) {
    const encoded = await codec.encode(
      EventType.CohortMembershipChanged,
      cohortEvent(user),
      newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
    );
    letters.push({
      topic: topics.topicOf(GROUP),
      key: encoded.key,
      value: encoded.value,
      headers: {
        ...Object.fromEntries(Object.entries(encoded.headers).filter(([, v]) => v !== undefined)),
        ...deadLetterHeaders({
          error: new Error('no such group'),
          reason: 'POISON',
          topic: encoded.topic,
          partition: 0,
          offset: String(user),
          attempts: 1,
          firstFailureTime: new Date(),
          consumerGroup: GROUP,
        }),
      },
    });
  }
  await producer.send(letters);
  ids = Array.from({ length: LETTERS }, (_, i) => `${topics.topicOf(GROUP)}:0:${i}`);
}, 120_000);

afterAll(async () => {
  await producer?.disconnect();
  await dataSource?.destroy();
  await dropDatabase(env.MYSQL_URL, DB);
});

it('lists the dead letters a page at a time, each once and in order, with the cursor of the next page', async () => {
  const seen: string[] = [];
  const sizes: number[] = [];
  let after: string | undefined;
  for (let n = 0; n < 5; n++) {
    const { letters, next } = await deadLetters.list({ consumerGroup: GROUP }, { limit: 3, after });
    seen.push(...letters.map((l) => l.id));
    sizes.push(letters.length);
    if (!next) break;
    after = next;
  }
  expect(sizes).toEqual([3, 3, 1]);
  expect(seen).toEqual(ids);
});

it('reads only the page asked for, never the whole topic', async () => {
  const consumers = jest.spyOn(kafka, 'consumer');
  const { letters, next } = await deadLetters.list({}, { limit: 2, after: ids[3] });
  expect(letters.map((l) => l.id)).toEqual([ids[4], ids[5]]);
  expect(next).toBe(ids[5]);
  expect(consumers).toHaveBeenCalledTimes(1);
  consumers.mockRestore();
});

it('refuses a cursor that is not a dead letter of the groups listed: no other topic is read through it', async () => {
  const refused = (after: string, consumerGroup?: ConsumerGroup) =>
    deadLetters.list(consumerGroup ? { consumerGroup } : {}, { after }).catch((e: { code?: string }) => e.code);
  expect(await refused(ids[1], ConsumerGroup.EvaluatorLmsEvents)).toBe('INVALID_CURSOR'); // another group's letter
  expect(await refused(`${ids[0].split(':')[0].replace('.dead-letter', '.retry')}:0:0`)).toBe('INVALID_CURSOR');
  expect(await refused('not-an-id')).toBe('INVALID_CURSOR');
});

it('counts the letters for the status page from the offsets, without reading one, open ones apart', async () => {
  const consumers = jest.spyOn(kafka, 'consumer');
  await deadLetters.resolve({ consumerGroup: GROUP, id: ids[6] }, 'operator', 'handled', false);
  expect(await deadLetters.counts()).toEqual({ [GROUP]: { total: LETTERS, open: LETTERS - 1 } });
  expect(consumers).toHaveBeenCalledTimes(1); // the resolve's read of its one letter
  consumers.mockRestore();
});

it('replays and resolves a page at a time, saying where the next page starts', async () => {
  const dry = await deadLetters.replay({ consumerGroup: GROUP }, 'operator', true, { limit: 4 });
  expect(dry).toMatchObject({ dry_run: true, count: 4, next_after: ids[3] });
});

describe("a retired learner's dead letter", () => {
  beforeAll(() => dataSource.query('INSERT INTO retired_user (user_id) VALUES (3)'));

  it('is shown with their username, email and name masked', async () => {
    const shown = await deadLetters.show(ids[2]);
    const text = JSON.stringify(shown);
    expect(text).not.toMatch(/learner3|Learner 3/);
    expect(shown).toMatchObject({
      retired_user: true,
      event: {
        data: { cohort: { user: { id: 3, pii: { username: '<retired>', email: '<retired>', name: '<retired>' } } } },
      },
    });
    expect(JSON.stringify(await deadLetters.show(ids[1]))).toContain('learner2@example.com');
  });

  it('is never replayed: the replay says the learner was retired', async () => {
    const replay = await deadLetters.replay({ consumerGroup: GROUP, id: ids[2] }, 'operator', false);
    expect(replay).toMatchObject({
      count: 0,
      not_replayed: [{ id: ids[2], reason: expect.stringMatching(/retired/) }],
    });
    expect(await dataSource.query('SELECT * FROM dead_letter_action WHERE dead_letter_id = ?', [ids[2]])).toEqual([]);
  });

  it('can be resolved', async () => {
    expect(
      await deadLetters.resolve({ consumerGroup: GROUP, id: ids[2] }, 'operator', 'learner retired', false),
    ).toMatchObject({ count: 1 });
    const { letters } = await deadLetters.list({ consumerGroup: GROUP, id: ids[2] });
    expect(letters[0].state).toBe('resolved');
  });
});
