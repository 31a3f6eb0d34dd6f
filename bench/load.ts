// The sync under load, the way users feel it, on the running stack (`npm start`), with the raw
// Kafka (or, for the LMS's events on Redis streams, raw Redis) figures of the same run beside every figure. Prints a table, writes JSON and latency charts
// under .cache/bench/. Asserts nothing.   npm run bench:load [-- --quick]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, Connection } from 'mysql2/promise';
import Redis from 'ioredis';
import {
  CONSUMER_GROUP_TOPICS,
  ConfluentSchemaRegistry,
  EncodedMessage,
  EventCodec,
  EventType,
  newEventMetadata,
  parseHeaders,
  streamEntryFields,
  unframe,
} from '@groups-sync/contracts';
import { createKafka, groupLag, MessageProducer, provisionTopics, TopicReader } from '@groups-sync/messaging';
import { parseMysqlUrl } from '@groups-sync/persistence';
import { http, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { accessToken, API, LMS } from './bench-support';

const QUICK = process.argv.includes('--quick');
const BURST = QUICK ? 1000 : 3000;
const PACED = [
  { rate: 200, count: QUICK ? 400 : 1000 },
  { rate: 1000, count: QUICK ? 1000 : 3000 },
];
const BULK = QUICK ? 2000 : 10_000;
const SINGLES = { rate: 50, count: QUICK ? 100 : 300 };
const IDLE = QUICK ? 15 : 30;
const ROOT = process.cwd(); // scripts/bench.sh runs from the workspace root
const OUT = join(ROOT, '.cache', 'bench');
const env = stackEnv();
const run = uniqueSuffix();
const COURSE = `course-v1:Bench+Load+${run}`;
/** Users the LMS events name; groups-service needs no account for an observation. */
let nextUserId = 2_000_000_000 + Math.floor(Math.random() * 100_000_000);

interface Sample {
  sentAt: number;
  latencyMs: number;
}
interface Figure {
  path: string;
  figure: string;
  value: number;
  unit: string;
  raw?: number;
  rawOf?: 'Kafka' | 'Redis';
  target?: string;
  met?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

async function db(database: string): Promise<Connection> {
  const { host, port, username, password } = parseMysqlUrl(env.MYSQL_URL);
  return createConnection({ host, port, user: username, password, database });
}

/**
 * Hands `items` to `send` at `rate` per second (Infinity: in batches of 500, as fast as `send` takes
 * them); returns send times. Paced, every few ms whatever is due goes in one send (as a producer's
 * linger would); an item's send time is when it was due, so a slow sender shows as latency, not as
 * a lower rate.
 */
async function paced<T>(items: T[], rate: number, send: (chunk: T[]) => Promise<unknown>): Promise<number[]> {
  const sentAt: number[] = new Array(items.length);
  if (rate === Infinity) {
    for (let i = 0; i < items.length; i += 500) {
      const chunk = items.slice(i, i + 500);
      const t = performance.now();
      for (let k = 0; k < chunk.length; k++) sentAt[i + k] = t;
      await send(chunk);
    }
    return sentAt;
  }
  const t0 = performance.now();
  for (let next = 0; next < items.length;) {
    const now = performance.now();
    let due = next;
    while (due < items.length && t0 + (due * 1000) / rate <= now) {
      sentAt[due] = t0 + (due * 1000) / rate;
      due++;
    }
    if (due > next) {
      await send(items.slice(next, due));
      next = due;
    } else {
      await sleep(Math.min(5, t0 + (next * 1000) / rate - now));
    }
  }
  return sentAt;
}

/** Kafka messages at `rate` per second. */
function produce(
  producer: MessageProducer,
  messages: Array<{ topic: string; key: Buffer; value: Buffer; headers: Record<string, string> }>,
  rate: number,
): Promise<number[]> {
  return paced(messages, rate, (chunk) => producer.send(chunk));
}

/** Raw kafkajs produce→consume of `count` messages of `size` bytes on a scratch topic (rate 0: one at a time). */
async function rawKafka(
  producer: MessageProducer,
  count: number,
  size: number,
  rate: number,
): Promise<{ samples: Sample[]; rate: number }> {
  const kafka = createKafka({ clientId: 'bench-raw', brokers: env.KAFKA_BROKERS.split(',') });
  const topic = `bench-raw-${uniqueSuffix()}`;
  await provisionTopics(kafka, [{ name: topic, partitions: 3 }]);
  const received = new Map<number, number>();
  const reader = new TopicReader(kafka, [topic], (m) => received.set(Number(m.headers.i), performance.now()));
  await reader.start();
  await sleep(1500); // joined
  const value = Buffer.alloc(size, 1);
  const messages = Array.from({ length: count }, (_, i) => ({
    topic,
    key: Buffer.from(COURSE),
    value,
    headers: { i: String(i) },
  }));
  let sentAt: number[] = [];
  if (rate === 0) {
    // One at a time: each message is sent once the previous one arrived.
    for (const [i, m] of messages.entries()) {
      sentAt.push(performance.now());
      await producer.send([m]);
      await waitUntil(() => received.has(i), 10_000, 1);
    }
  } else {
    sentAt = await produce(producer, messages, rate);
  }
  await waitUntil(() => received.size >= count, 60_000);
  await reader.stop();
  return summarize(sentAt, (i) => received.get(i));
}

type StreamEntry = { stream: string; fields: Array<[string, string | Buffer]> };

/** As `produce`, to Redis streams the way event-bus-redis writes them: pipelined `XADD … MAXLEN ~ 10000`. */
function produceRedis(redis: Redis, entries: StreamEntry[], rate: number): Promise<number[]> {
  return paced(entries, rate, (chunk) => {
    const pipeline = redis.pipeline();
    for (const e of chunk) pipeline.xadd(e.stream, 'MAXLEN', '~', 10_000, '*', ...e.fields.flat());
    return pipeline.exec();
  });
}

/**
 * Raw Redis: XADD of `count` entries of `size` bytes, read back by one XREADGROUP reader (COUNT 500,
 * BLOCK) that acknowledges each batch, as the services' reader does without the work in between.
 */
async function rawRedis(
  redis: Redis,
  count: number,
  size: number,
  rate: number,
): Promise<{ samples: Sample[]; rate: number }> {
  const stream = `bench-raw-${uniqueSuffix()}`;
  await redis.xgroup('CREATE', stream, 'raw', '$', 'MKSTREAM');
  const reader = redis.duplicate();
  const received = new Map<number, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const reply = (await reader.xreadgroup(
        'GROUP',
        'raw',
        'r',
        'COUNT',
        500,
        'BLOCK',
        200,
        'STREAMS',
        stream,
        '>',
      )) as Array<[string, Array<[string, string[]]>]> | null;
      const entries = reply?.[0]?.[1] ?? [];
      const now = performance.now();
      for (const [, fields] of entries) received.set(Number(fields[1]), now);
      if (entries.length) await reader.xack(stream, 'raw', ...entries.map(([id]) => id));
    }
  })();
  const data = Buffer.alloc(size, 1);
  const entries = Array.from({ length: count }, (_, i) => ({
    stream,
    fields: [
      ['i', String(i)],
      ['event_data', data],
    ] as Array<[string, string | Buffer]>,
  }));
  const sentAt = await produceRedis(redis, entries, rate);
  await waitUntil(() => received.size >= count, 60_000);
  stopped = true;
  await loop;
  reader.disconnect();
  await redis.del(stream);
  return summarize(sentAt, (i) => received.get(i));
}

function summarize(sentAt: number[], doneAt: (i: number) => number | undefined): { samples: Sample[]; rate: number } {
  const samples = sentAt.map((t, i) => ({ sentAt: t, latencyMs: (doneAt(i) ?? NaN) - t }));
  const last = Math.max(...samples.map((s) => s.sentAt + s.latencyMs));
  return { samples, rate: samples.length / ((last - sentAt[0]) / 1000) };
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
  return true;
}

/**
 * Waits until every consumer group of the stack has committed everything (retry topics too): a
 * figure taken while the previous step's tail (its sync results, its echoes) still queues ahead of
 * it measures that tail, not its own path. Answers how long it waited, or null when a backlog was
 * still there after `timeoutMs` (the figures after it then say so, rather than the run being lost).
 */
async function quiet(kafka: ReturnType<typeof createKafka>, timeoutMs = 120_000): Promise<number | null> {
  const prefix = process.env.EVENT_BUS_TOPIC_PREFIX;
  const t0 = performance.now();
  const admin = kafka.admin(); // one connection for every poll of every group
  await admin.connect();
  try {
    const backlog = async () => {
      let sum = 0;
      for (const [group, topics] of Object.entries(CONSUMER_GROUP_TOPICS))
        for (const n of Object.values(await groupLag(kafka, group, topics, prefix, admin))) sum += n;
      return sum;
    };
    return (await waitUntil(async () => (await backlog()) === 0, timeoutMs, 250)) ? performance.now() - t0 : null;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Watches a table for users appearing, timestamping each the first time a poll sees it. Reads only
 * rows past the last row id it saw (less a margin for rows that commit out of id order), so that
 * watching stays light next to the work it measures on this 2-core machine.
 */
class Watcher {
  readonly seen = new Map<number, number>();
  private stopped = false;
  private loop?: Promise<void>;
  private lastRow = 0;

  /** `sql` selects `row` (the table's auto-increment id) and `id` (the user) and ends with `AND <row column> > ?`. */
  constructor(
    private readonly conn: Connection,
    private readonly sql: string,
    private readonly params: unknown[],
    private readonly everyMs = 10,
  ) {}

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        const [rows] = await this.conn.query(this.sql, [...this.params, Math.max(0, this.lastRow - 500)]);
        const now = performance.now();
        for (const r of rows as Array<{ id: number | string; row: number | string }>) {
          if (!this.seen.has(Number(r.id))) this.seen.set(Number(r.id), now);
          this.lastRow = Math.max(this.lastRow, Number(r.row));
        }
        await sleep(this.everyMs);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

function peakRss(): Record<string, number> {
  const rss: Record<string, number> = {};
  const runDir = join(ROOT, '.cache', 'run');
  for (const file of readdirSync(runDir).filter((f) => f.endsWith('.pid'))) {
    const app = file.replace(/\.pid$/, '');
    if (!/service|emulator/.test(app)) continue;
    const pid = readFileSync(join(runDir, file), 'utf8').trim();
    const status = `/proc/${pid}/status`;
    if (!existsSync(status)) continue;
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'));
    if (m) rss[app] = Math.round(Number(m[1]) / 1024);
  }
  return rss;
}

/** The broker's own producer benchmark, from the jars scripts/infra.sh resolved. */
async function producerPerfTest(count: number, size: number): Promise<number | null> {
  const libs = join(ROOT, '.cache', 'kafka', 'libs');
  if (!existsSync(libs)) return null;
  const topic = `bench-perf-${uniqueSuffix()}`;
  await provisionTopics(createKafka({ clientId: 'bench-perf', brokers: env.KAFKA_BROKERS.split(',') }), [
    { name: topic, partitions: 3 },
  ]);
  try {
    const out = execFileSync(
      'java',
      [
        '-cp',
        `${libs}/*`,
        'org.apache.kafka.tools.ProducerPerformance',
        '--topic',
        topic,
        '--num-records',
        String(count),
        '--record-size',
        String(size),
        '--throughput',
        '-1',
        '--producer-props',
        `bootstrap.servers=${env.KAFKA_BROKERS}`,
        'acks=all',
        'enable.idempotence=true',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000 },
    );
    const m = /records sent, ([\d.]+) records\/sec/.exec(out.trim().split('\n').pop() ?? '');
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Latency over time, one panel per scenario with its own scales: x is when each change landed
 * (since the scenario's first send), y how long it took. A stall shows as a gap followed by a
 * column of high points.
 */
function chart(title: string, series: Array<{ name: string; samples: Sample[] }>, file: string): void {
  const W = 900,
    PANEL = 190,
    L = 70,
    TOP = 30;
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
  const H = TOP + series.length * (PANEL + 30);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/><text x="${L}" y="18" font-size="14">${title}</text>`,
  ];
  series.forEach((s, i) => {
    const points = s.samples.filter((x) => Number.isFinite(x.latencyMs));
    if (!points.length) return;
    const t0 = Math.min(...points.map((p) => p.sentAt));
    const landed = points.map((p) => p.sentAt + p.latencyMs - t0);
    const tMax = Math.max(...landed) || 1;
    const yMax = Math.max(...points.map((p) => p.latencyMs)) || 1;
    const top = TOP + i * (PANEL + 30) + 20;
    const bottom = top + PANEL - 20;
    const colour = colours[i % colours.length];
    const x = (t: number) => L + (t / tMax) * (W - L - 20);
    const y = (v: number) => bottom - (v / yMax) * (bottom - top);
    parts.push(
      `<text x="${L}" y="${top - 6}" fill="${colour}" font-size="12">${s.name}</text>`,
      `<line x1="${L}" y1="${bottom}" x2="${W - 20}" y2="${bottom}" stroke="black"/><line x1="${L}" y1="${bottom}" x2="${L}" y2="${top}" stroke="black"/>`,
      `<text x="${L - 5}" y="${top + 4}" text-anchor="end">${yMax.toFixed(0)} ms</text><text x="${L - 5}" y="${bottom}" text-anchor="end">0</text>`,
      `<text x="${W - 20}" y="${bottom + 14}" text-anchor="end">${(tMax / 1000).toFixed(2)} s (landed)</text>`,
    );
    points.forEach((p, k) =>
      parts.push(
        `<circle cx="${x(landed[k]).toFixed(1)}" cy="${y(p.latencyMs).toFixed(1)}" r="1.5" fill="${colour}"/>`,
      ),
    );
  });
  parts.push('</svg>');
  writeFileSync(join(OUT, file), parts.join('\n'));
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const token = await accessToken();
  const auth = { authorization: `JWT ${token}` };
  const api = (method: string, path: string, body?: unknown) => http(method, `${API}${path}`, body, auth);
  const groupsDb = await db(process.env.GROUPS_DB_NAME ?? 'groups_service');
  const lmsDb = await db(process.env.LMS_DB_NAME ?? 'lms_emulator');
  const kafka = createKafka({ clientId: 'bench-load', brokers: env.KAFKA_BROKERS.split(',') });
  const producer = new MessageProducer(kafka);
  await producer.warmUp();
  const codec = new EventCodec(
    new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL),
    process.env.EVENT_BUS_TOPIC_PREFIX,
  );
  const redis = new Redis(env.EVENT_BUS_REDIS_CONNECTION_URL);

  const cohortGroup = async (name: string) => {
    const res = await api('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name,
      kind: 'legacy',
      criteria: [{ type: 'legacy_cohort' }],
    });
    if (res.status !== 201) throw new Error(`create group: ${res.status} ${JSON.stringify(res.body)}`);
    let cohortId = 0;
    await waitUntil(
      async () => (cohortId = (await api('GET', `/groups/${res.body.id}`)).body.legacy_link?.cohort_id ?? 0) > 0,
      30_000,
    );
    if (!cohortId) throw new Error(`group ${name} was not linked to a cohort`);
    return { id: res.body.id as string, cohortId, name };
  };

  /** COHORT_MEMBERSHIP_CHANGED as the LMS sends it (event-bus-kafka framing), for fresh users. */
  const lmsEvents = (cohortName: string, count: number) =>
    Promise.all(
      Array.from({ length: count }, async () => {
        const id = nextUserId++;
        const message = await codec.encode(
          EventType.CohortMembershipChanged,
          {
            cohort: {
              user: { id, is_active: true, pii: { username: `load_${id}`, email: `load_${id}@example.com`, name: '' } },
              course: { course_key: COURSE, display_name: '', start: null, end: null },
              name: cohortName,
            },
          },
          newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
        );
        return { id, message };
      }),
    );

  /** LMS → User Group: send time until groups-service has committed the membership. */
  const lmsToGroups = async (count: number, rate: number) => {
    const group = await cohortGroup(`Load in ${rate} ${uniqueSuffix()}`);
    const events = await lmsEvents(group.name, count);
    const watcher = new Watcher(
      groupsDb,
      'SELECT id AS row, user_id AS id FROM membership WHERE group_id = ? AND active = 1 AND id > ?',
      [group.id],
    ).start();
    const sentAt = await produce(
      producer,
      events.map((e) => e.message as EncodedMessage),
      rate,
    );
    await waitUntil(() => watcher.seen.size >= count, 180_000);
    await watcher.stop();
    return summarize(sentAt, (i) => watcher.seen.get(events[i].id));
  };

  /** The same event as event-bus-redis writes it: its fields, the Avro without framing. */
  const asStreamEntry = (m: EncodedMessage): StreamEntry => ({
    stream: m.topic,
    fields: streamEntryFields(parseHeaders(m.headers), unframe(m.value).payload),
  });

  /** LMS → User Group through Redis streams (the services read LMS_EVENT_BUS=both in `npm start`). */
  const redisToGroups = async (count: number, rate: number) => {
    const group = await cohortGroup(`Load redis ${rate} ${uniqueSuffix()}`);
    const events = await lmsEvents(group.name, count);
    const watcher = new Watcher(
      groupsDb,
      'SELECT id AS row, user_id AS id FROM membership WHERE group_id = ? AND active = 1 AND id > ?',
      [group.id],
    ).start();
    const sentAt = await produceRedis(
      redis,
      events.map((e) => asStreamEntry(e.message)),
      rate,
    );
    const landed = await waitUntil(() => watcher.seen.size >= count, 180_000);
    await watcher.stop();
    if (!landed)
      throw new Error(
        `only ${watcher.seen.size} of ${count} LMS events from Redis landed: do the services read Redis (LMS_EVENT_BUS both or redis)?`,
      );
    return summarize(sentAt, (i) => watcher.seen.get(events[i].id));
  };

  const size = (await lmsEvents('size probe', 1))[0].message.value.length;
  const figures: Figure[] = [];
  const charts: Record<string, Array<{ name: string; samples: Sample[] }>> = { in: [], out: [] };
  const ms = (v: number) => Math.round(v * 10) / 10;
  const add = (f: Figure) => {
    figures.push(f);
    console.error(
      `  ${f.path}: ${f.figure} = ${f.value} ${f.unit}${f.raw !== undefined ? ` (raw ${f.rawOf ?? 'Kafka'} ${f.raw})` : ''}`,
    );
  };

  console.error(`bench:load on ${COURSE}; LMS event ${size} bytes`);
  // A course of the LMS (the emulator answers 404 for one it does not have), before its cohorts.
  const course = await http('POST', `${LMS}/emulator/courses`, { course_id: COURSE });
  if (course.status !== 201) throw new Error(`emulator course: ${course.status} ${JSON.stringify(course.body)}`);
  // Idle, one change at a time, both ways and raw.
  const rawIdle = (await rawKafka(producer, IDLE, size, 0)).samples.map((s) => s.latencyMs);
  const idleGroup = await cohortGroup(`Load idle ${uniqueSuffix()}`);
  const idleIn: number[] = [];
  for (let i = 0; i < IDLE; i++) {
    const [e] = await lmsEvents(idleGroup.name, 1);
    const t0 = performance.now();
    await producer.send([e.message]);
    await waitUntil(
      async () =>
        (
          (
            await groupsDb.query('SELECT 1 FROM membership WHERE group_id = ? AND user_id = ? AND active = 1', [
              idleGroup.id,
              e.id,
            ])
          )[0] as unknown[]
        ).length > 0,
      30_000,
      2,
    );
    idleIn.push(performance.now() - t0);
  }

  // LMS accounts for the User Group → LMS paths (the LMS keeps only members it knows).
  const accounts = await (async () => {
    const users = Array.from({ length: BULK + SINGLES.count + IDLE }, (_, i) => ({ username: `load_${run}_${i}` }));
    const res = await http('POST', `${LMS}/emulator/users`, { users });
    if (res.status !== 201 && res.status !== 200) throw new Error(`emulator users: ${res.status}`);
    return (res.body.users as Array<{ id: number; username: string }>).map((u) => ({
      user_id: Number(u.id),
      username: u.username,
    }));
  })();
  const idleOutGroup = await cohortGroup(`Load idle out ${uniqueSuffix()}`);
  const idleOut: number[] = [];
  for (const user of accounts.slice(BULK + SINGLES.count)) {
    const t0 = performance.now();
    await api('POST', `/groups/${idleOutGroup.id}/members`, { members: [user] });
    await waitUntil(
      async () =>
        (
          (
            await lmsDb.query(
              'SELECT 1 FROM course_groups_cohortmembership WHERE course_user_group_id = ? AND user_id = ?',
              [idleOutGroup.cohortId, user.user_id],
            )
          )[0] as unknown[]
        ).length > 0,
      30_000,
      2,
    );
    idleOut.push(performance.now() - t0);
  }
  add({
    path: 'idle, one change',
    figure: 'LMS → User Group p50',
    value: ms(quantile(idleIn, 0.5)),
    unit: 'ms',
    raw: ms(quantile(rawIdle, 0.5)),
    target: '≤ 25 ms',
    met: quantile(idleIn, 0.5) <= 25,
  });
  add({
    path: 'idle, one change',
    figure: 'User Group → LMS p50',
    value: ms(quantile(idleOut, 0.5)),
    unit: 'ms',
    raw: ms(quantile(rawIdle, 0.5)),
    target: '≤ 25 ms',
    met: quantile(idleOut, 0.5) <= 25,
  });

  // LMS → User Group under load, each beside raw Kafka at the same offered rate.
  for (const { rate, count } of [...PACED, { rate: Infinity, count: BURST }]) {
    const raw = await rawKafka(producer, count, size, rate);
    const real = await lmsToGroups(count, rate);
    const label = rate === Infinity ? `burst of ${count}` : `${count} at ${rate}/s`;
    charts.in.push({ name: label, samples: real.samples });
    const lat = real.samples.map((s) => s.latencyMs);
    const rawLat = raw.samples.map((s) => s.latencyMs);
    if (rate === Infinity) {
      add({
        path: `LMS → User Group, ${label}`,
        figure: 'changes/s',
        value: Math.round(real.rate),
        unit: '/s',
        raw: Math.round(raw.rate),
        target: `≥ 2,000/s and ≥ 25 % of raw`,
        met: real.rate >= 2000 && real.rate >= 0.25 * raw.rate,
      });
      add({
        path: `LMS → User Group, ${label}`,
        figure: 'last lands after',
        value: ms(Math.max(...lat)),
        unit: 'ms',
        raw: ms(Math.max(...rawLat)),
      });
    } else {
      add({
        path: `LMS → User Group, ${label}`,
        figure: 'sustained',
        value: Math.round(real.rate),
        unit: '/s',
        raw: Math.round(raw.rate),
      });
      add({
        path: `LMS → User Group, ${label}`,
        figure: 'p50',
        value: ms(quantile(lat, 0.5)),
        unit: 'ms',
        raw: ms(quantile(rawLat, 0.5)),
      });
      add({
        path: `LMS → User Group, ${label}`,
        figure: 'p95',
        value: ms(quantile(lat, 0.95)),
        unit: 'ms',
        raw: ms(quantile(rawLat, 0.95)),
      });
      add({
        path: `LMS → User Group, ${label}`,
        figure: 'p99',
        value: ms(quantile(lat, 0.99)),
        unit: 'ms',
        raw: ms(quantile(rawLat, 0.99)),
        ...(rate === 200 ? { target: '≤ 150 ms', met: quantile(lat, 0.99) <= 150 } : {}),
      });
    }
  }

  // The same LMS → User Group path with the LMS on event-bus-redis (Tutor's bus), beside raw Redis
  // (XADD → XREADGROUP of entries of the same size) at the same offered rate; target: at least the
  // Kafka path's figure of this run.
  const kafkaBurst =
    figures.find((f) => f.path === `LMS → User Group, burst of ${BURST}` && f.figure === 'changes/s')?.value ?? NaN;
  for (const { rate, count } of [PACED[1], { rate: Infinity, count: BURST }]) {
    const rawR = await rawRedis(redis, count, size - 5, rate);
    const real = await redisToGroups(count, rate);
    const label = rate === Infinity ? `burst of ${count}` : `${count} at ${rate}/s`;
    const lat = real.samples.map((x) => x.latencyMs);
    const rawLat = rawR.samples.map((x) => x.latencyMs);
    const path = `LMS → User Group from Redis, ${label}`;
    if (rate === Infinity) {
      add({
        path,
        figure: 'changes/s',
        value: Math.round(real.rate),
        unit: '/s',
        raw: Math.round(rawR.rate),
        rawOf: 'Redis',
        target: `≥ the Kafka path's ${Math.round(kafkaBurst)}/s`,
        met: real.rate >= kafkaBurst,
      });
      add({
        path,
        figure: 'last lands after',
        value: ms(Math.max(...lat)),
        unit: 'ms',
        raw: ms(Math.max(...rawLat)),
        rawOf: 'Redis',
      });
    } else {
      add({
        path,
        figure: 'sustained',
        value: Math.round(real.rate),
        unit: '/s',
        raw: Math.round(rawR.rate),
        rawOf: 'Redis',
      });
      add({
        path,
        figure: 'p50',
        value: ms(quantile(lat, 0.5)),
        unit: 'ms',
        raw: ms(quantile(rawLat, 0.5)),
        rawOf: 'Redis',
      });
      add({
        path,
        figure: 'p99',
        value: ms(quantile(lat, 0.99)),
        unit: 'ms',
        raw: ms(quantile(rawLat, 0.99)),
        rawOf: 'Redis',
      });
    }
  }

  // Enrollment events → a verified track group: a burst of COURSE_ENROLLMENT_CHANGED (verified) for
  // fresh learners, framed as the LMS sends them, beside raw Kafka at the same offered rate.
  {
    const track = await api('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: `Load track ${uniqueSuffix()}`,
      kind: 'legacy',
      criteria: [{ type: 'legacy_enrollment_track', config: { mode: 'verified' } }],
    });
    if (track.status !== 201) throw new Error(`track group: ${track.status} ${JSON.stringify(track.body)}`);
    // Linked in legacy-sync before the events come (they would find no track to move learners in).
    const syncDb = await db(process.env.LEGACY_SYNC_DB_NAME ?? 'legacy_sync');
    await waitUntil(
      async () =>
        (
          (
            await syncDb.query("SELECT 1 FROM legacy_link WHERE group_id = ? AND state = 'linked'", [track.body.id])
          )[0] as unknown[]
        ).length > 0,
      30_000,
    );
    await syncDb.end();
    const events = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const id = nextUserId++;
        const message = await codec.encode(
          EventType.CourseEnrollmentChanged,
          {
            enrollment: {
              user: { id, is_active: true, pii: { username: `load_${id}`, email: `load_${id}@example.com`, name: '' } },
              course: { course_key: COURSE, display_name: '', start: null, end: null },
              mode: 'verified',
              is_active: true,
              creation_date: new Date().toISOString(),
              created_by: null,
            },
          },
          newEventMetadata(EventType.CourseEnrollmentChanged, 'lms'),
        );
        return { id, message };
      }),
    );
    const raw = await rawKafka(producer, BURST, events[0].message.value.length, Infinity);
    const watcher = new Watcher(
      groupsDb,
      'SELECT id AS row, user_id AS id FROM membership WHERE group_id = ? AND active = 1 AND id > ?',
      [track.body.id],
    ).start();
    const sentAt = await produce(
      producer,
      events.map((e) => e.message as EncodedMessage),
      Infinity,
    );
    await waitUntil(() => watcher.seen.size >= BURST, 180_000);
    await watcher.stop();
    const real = summarize(sentAt, (i) => watcher.seen.get(events[i].id));
    add({
      path: `enrollment events → track group, burst of ${BURST}`,
      figure: 'enrollments/s',
      value: Math.round(real.rate),
      unit: '/s',
      raw: Math.round(raw.rate),
    });
    add({
      path: `enrollment events → track group, burst of ${BURST}`,
      figure: 'last lands after',
      value: ms(Math.max(...real.samples.map((x) => x.latencyMs))),
      unit: 'ms',
      raw: ms(Math.max(...raw.samples.map((x) => x.latencyMs))),
    });
  }

  // User Group → LMS: one bulk add through the API, until the LMS's cohort holds every member.
  {
    const group = await cohortGroup(`Load bulk ${uniqueSuffix()}`);
    // Learners groups-service has never seen, named by user_id alone: each is resolved through the LMS.
    const members = accounts.slice(0, BULK);
    const watcher = new Watcher(
      lmsDb,
      'SELECT id AS row, user_id AS id FROM course_groups_cohortmembership WHERE course_user_group_id = ? AND id > ?',
      [group.cohortId],
      50,
    ).start();
    const t0 = performance.now();
    const res = await api('POST', `/groups/${group.id}/members`, {
      members: members.map((m) => ({ user_id: m.user_id })),
    });
    if (res.status !== 200) throw new Error(`bulk add: ${res.status}`);
    const answered = performance.now() - t0;
    await waitUntil(() => watcher.seen.size >= BULK, 600_000);
    await watcher.stop();
    const summary = summarize(
      members.map(() => t0),
      (i) => watcher.seen.get(members[i].user_id),
    );
    charts.out.push({ name: `bulk add of ${BULK}`, samples: summary.samples });
    add({
      path: `User Group → LMS, bulk add of ${BULK} unseen learners by user_id`,
      figure: 'members/s',
      value: Math.round(summary.rate),
      unit: '/s',
      target: '≥ 1,000/s',
      met: summary.rate >= 1000,
    });
    add({
      path: `User Group → LMS, bulk add of ${BULK} unseen learners by user_id`,
      figure: 'API answered after',
      value: ms(answered),
      unit: 'ms',
    });
    // The LMS's echoes of these adds still flow back; the next figures are taken once they have.
    const echoed = async () =>
      Number(
        (
          (
            await groupsDb.query(
              'SELECT COUNT(*) AS n FROM membership WHERE group_id = ? AND legacy_observed_at IS NOT NULL',
              [group.id],
            )
          )[0] as Array<{ n: number }>
        )[0].n,
      );
    await waitUntil(async () => (await echoed()) >= BULK, 300_000, 200);
    add({
      path: `User Group → LMS, bulk add of ${BULK} unseen learners by user_id`,
      figure: 'every echo back in User Groups after',
      value: ms(performance.now() - t0),
      unit: 'ms',
    });
  }
  // Single adds at 50/s, each its own request, once the bulk's sync results and echoes are all in.
  {
    const waited = await quiet(kafka);
    console.error(
      waited === null
        ? "  (the bulk add's tail was still queued after 120 s: the single adds below ran behind it)"
        : `  (waited ${ms(waited)} ms for the bulk add's tail before the single adds)`,
    );
    const group = await cohortGroup(`Load singles ${uniqueSuffix()}`);
    const members = accounts.slice(BULK, BULK + SINGLES.count);
    const watcher = new Watcher(
      lmsDb,
      'SELECT id AS row, user_id AS id FROM course_groups_cohortmembership WHERE course_user_group_id = ? AND id > ?',
      [group.cohortId],
    ).start();
    const t0 = performance.now();
    const sentAt: number[] = [];
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < members.length; i++) {
      const wait = t0 + (i * 1000) / SINGLES.rate - performance.now();
      if (wait > 1) await sleep(wait);
      sentAt.push(performance.now());
      calls.push(api('POST', `/groups/${group.id}/members`, { members: [members[i]] }));
    }
    await Promise.all(calls);
    await waitUntil(() => watcher.seen.size >= members.length, 120_000);
    await watcher.stop();
    const summary = summarize(sentAt, (i) => watcher.seen.get(members[i].user_id));
    charts.out.push({ name: `${SINGLES.count} single adds at ${SINGLES.rate}/s`, samples: summary.samples });
    const lat = summary.samples.map((s) => s.latencyMs);
    add({
      path: `User Group → LMS, single adds at ${SINGLES.rate}/s`,
      figure: 'p50',
      value: ms(quantile(lat, 0.5)),
      unit: 'ms',
    });
    add({
      path: `User Group → LMS, single adds at ${SINGLES.rate}/s`,
      figure: 'p99',
      value: ms(quantile(lat, 0.99)),
      unit: 'ms',
    });
  }

  const perf = await producerPerfTest(BURST * 10, size);
  add({
    path: 'raw Kafka',
    figure: 'kafka-producer-perf-test (acks=all, idempotent)',
    value: perf ?? NaN,
    unit: 'records/s',
  });
  const rss = peakRss();
  for (const [app, mb] of Object.entries(rss))
    add({
      path: 'peak RSS',
      figure: app,
      value: mb,
      unit: 'MB',
      target: app === 'lms-emulator' ? undefined : '< 300 MB',
      met: app === 'lms-emulator' ? undefined : mb < 300,
    });

  chart('LMS → User Group: latency of each change, by when it landed', charts.in, 'load-lms-to-user-group.svg');
  chart('User Group → LMS: latency of each change, by when it landed', charts.out, 'load-user-group-to-lms.svg');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    join(OUT, `load-${stamp}.json`),
    JSON.stringify({ at: new Date().toISOString(), course: COURSE, quick: QUICK, eventBytes: size, figures }, null, 2),
  );

  const rows = figures.map((f) => [
    f.path,
    f.figure,
    `${f.value} ${f.unit}`,
    f.raw === undefined ? '' : `${f.raw} ${f.unit}${f.rawOf === 'Redis' ? ' (Redis)' : ''}`,
    f.raw
      ? f.unit === 'ms'
        ? `${(f.value / f.raw).toFixed(1)}× raw`
        : `${((f.value / f.raw) * 100).toFixed(0)} % of raw`
      : '',
    f.target ? `${f.target} ${f.met ? 'met' : 'NOT met'}` : '',
  ]);
  console.log(
    '| path | figure | value | raw Kafka (or Redis), same run | ratio | target |\n| --- | --- | --- | --- | --- | --- |',
  );
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nJSON and charts: ${OUT}/load-${stamp}.json, load-lms-to-user-group.svg, load-user-group-to-lms.svg`);
  await producer.disconnect();
  redis.disconnect();
  await groupsDb.end();
  await lmsDb.end();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
