// The longest event-loop block of groups-service while it serves its bulk writes: a 50,000-row CSV
// import and a 10,000-member bulk add, each of accounts it has never seen (resolved through the LMS
// emulator's accounts API). groups-service and the emulator run as processes of their own over the
// real MariaDB and Kafka (`npm run infra` is enough; the stack's services only take CPU from it).
// The figure is the service's own `nodejs_eventloop_lag_max_seconds` (prom-client's
// monitorEventLoopDelay at 10 ms, reset by each scrape: the longest time between two ticks of a
// 10 ms timer, so an idle loop reads ~10 ms) over each request, read from its operations port. A
// block over ~100 ms stalls every other request, consumer heartbeat and probe of the instance.
// Prints raw figures; asserts nothing.
//   npm run bench:event-loop [-- --rows 50000 --bulk 10000 --repeat 1]
import { parseArgs } from 'node:util';
import { dropDatabase } from '@groups-sync/persistence';
import { createKafka, deleteTopicsWithPrefix } from '@groups-sync/messaging';
import { http, ServiceProcess, stackEnv, testPort, uniqueSuffix } from '@groups-sync/testing';
import { operator, runBench } from './bench-support';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    bulk: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '1' },
  },
});
const ROWS = Number(args.rows);
const BULK = Number(args.bulk);
const REPEAT = Number(args.repeat);
const JWT_SECRET = 'bench-event-loop-jwt-secret';

/** The service's longest event-loop delay since the last scrape, and its p99, in ms. */
async function loopLag(service: ServiceProcess): Promise<{ max: number; p99: number }> {
  const text = await (await fetch(`${service.opsUrl}/metrics`)).text();
  const value = (name: string) =>
    1000 * Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
  return { max: value('nodejs_eventloop_lag_max_seconds'), p99: value('nodejs_eventloop_lag_p99_seconds') };
}

/** One request, the service's loop delay over it (a scrape before resets the monitor). */
async function measured(label: string, service: ServiceProcess, send: () => Promise<Response>): Promise<unknown> {
  await loopLag(service);
  const t0 = performance.now();
  const res = await send();
  const body = await res.json();
  const wall = performance.now() - t0;
  const lag = await loopLag(service);
  console.log(
    `${label.padEnd(44)} status=${res.status}  wall=${wall.toFixed(0)} ms  groups-service loop delay: max=${lag.max.toFixed(1)} ms  p99=${lag.p99.toFixed(1)} ms`,
  );
  return body;
}

async function main(): Promise<void> {
  const suffix = uniqueSuffix();
  const prefix = `bench-loop-${suffix}`;
  const databases = { lms: `lms_loop_${suffix}`, groups: `groups_loop_${suffix}` };
  const lms = new ServiceProcess(
    'lms-emulator',
    testPort(0),
    {
      ...stackEnv(),
      DB_NAME: databases.lms,
      EVENT_BUS_TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      LMS_JWT_SECRET_KEY: JWT_SECRET,
      LMS_JWT_ISSUER: `http://127.0.0.1:${testPort(0)}/oauth2`,
    },
    `${prefix}-lms-emulator`,
  );
  const service = new ServiceProcess(
    'groups-service',
    testPort(1),
    {
      ...stackEnv(),
      DB_NAME: databases.groups,
      EVENT_BUS_TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      LMS_BASE_URL: lms.url,
      JWT_JWKS_URL: `${lms.url}/oauth2/jwks.json`,
      JWT_ISSUER: `${lms.url}/oauth2`,
      JWT_ISSUERS: JSON.stringify([{ ISSUER: `${lms.url}/oauth2`, AUDIENCE: 'openedx', SECRET_KEY: JWT_SECRET }]),
    },
    `${prefix}-groups-service`,
  );
  try {
    await lms.start();
    await service.start();
    const auth = await operator(lms.url);
    const base = `${service.url}/api/user-groups/v1`;
    const json = (method: string, path: string, body?: string) =>
      fetch(`${base}${path}`, { method, headers: { ...auth, 'content-type': 'application/json' }, body });
    const group = async (name: string) => {
      const res = await json(
        'POST',
        '/groups',
        JSON.stringify({ scope_type: 'course', scope_key: 'course-v1:Bench+Loop+2026', kind: 'manual', name }),
      );
      if (res.status !== 201) throw new Error(`create group: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    const lmsUsers = async (usernames: string[]) => {
      const res = await http('POST', `${lms.url}/emulator/users`, {
        users: usernames.map((username) => ({ username })),
      });
      if (res.status !== 201) throw new Error(`emulator users: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body.users as Array<{ id: number; username: string }>).map((u) => ({
        user_id: Number(u.id),
        username: u.username,
      }));
    };

    for (let run = 0; run < REPEAT; run++) {
      // Accounts in the LMS (emulator), 20,000 a call; none of them known to groups-service yet.
      const users: Array<{ user_id: number; username: string }> = [];
      for (let i = 0; i < ROWS + BULK; i += 20_000) {
        users.push(
          ...(await lmsUsers(
            Array.from({ length: Math.min(20_000, ROWS + BULK - i) }, (_, k) => `loop_${run}_${i + k}`),
          )),
        );
      }
      const csv = `username\n${users
        .slice(0, ROWS)
        .map((u) => u.username)
        .join('\n')}\n`;
      const csvGroup = await group(`Loop CSV ${run}`);
      const imported = await measured(`CSV import, ${ROWS.toLocaleString('en')} rows (new accounts)`, service, () =>
        fetch(`${base}/groups/${csvGroup}/members/csv`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'text/csv' },
          body: csv,
        }),
      );
      console.log(`  summary ${JSON.stringify((imported as { summary?: unknown }).summary)}`);
      const bulkGroup = await group(`Loop bulk ${run}`);
      const members = JSON.stringify({
        members: users.slice(ROWS).map((u) => ({ user_id: u.user_id, username: u.username })),
      });
      const added = await measured(`bulk add, ${BULK.toLocaleString('en')} user_ids (new accounts)`, service, () =>
        json('POST', `/groups/${bulkGroup}/members`, members),
      );
      const results = (added as { results?: Array<{ result: string }> }).results ?? [];
      console.log(
        `  results ${JSON.stringify(results.reduce<Record<string, number>>((n, r) => ({ ...n, [r.result]: (n[r.result] ?? 0) + 1 }), {}))}`,
      );
    }
  } finally {
    await service.stop();
    await lms.stop();
    for (const db of Object.values(databases)) await dropDatabase(stackEnv().MYSQL_URL, db).catch(() => undefined);
    await deleteTopicsWithPrefix(
      createKafka({ clientId: 'bench-cleanup', brokers: stackEnv().KAFKA_BROKERS.split(',') }),
      `${prefix}-`,
    ).catch(() => undefined);
  }
}

runBench(main);
