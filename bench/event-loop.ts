// The longest event-loop block while groups-service serves its bulk writes: a 50,000-row CSV import
// and a 10,000-member bulk add, each of accounts it has never seen (resolved through the LMS
// emulator's accounts API). groups-service runs in this process over the real MariaDB and Kafka, as
// the integration tests run it (no stack services needed: `npm run infra` is enough); the delay is
// perf_hooks.monitorEventLoopDelay's over each request. A block over ~100 ms stalls every other
// request, consumer heartbeat and probe of the instance. Prints raw figures; asserts nothing.
//   npm run bench:event-loop [-- --rows 50000 --bulk 10000 --repeat 1]
import { INestApplication } from '@nestjs/common';
import { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startGroupsApp } from '../apps/groups-service/src/test/groups-app';
import { runBench } from './bench-support';

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
const ms = (ns: number) => (ns / 1e6).toFixed(1);

/**
 * One request under the monitor, from its send until its response headers: the client's share of
 * the loop (building the body before, parsing the answer after) is left out, since it shares the
 * server's loop only because the benchmark runs in-process. Prints the longest block (max delay),
 * percentiles and the wall time.
 */
async function measured(label: string, send: () => Promise<Response>): Promise<unknown> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const t0 = performance.now();
  delay.enable();
  const res = await send();
  delay.disable();
  const wall = performance.now() - t0;
  console.log(
    `${label.padEnd(44)} status=${res.status}  wall=${wall.toFixed(0)} ms  loop delay: max=${ms(delay.max)} ms  p99=${ms(delay.percentile(99))} ms  mean=${ms(delay.mean)} ms  samples=${delay.count}`,
  );
  return res.json();
}

async function main(): Promise<void> {
  const started = await startGroupsApp(7, { LOG_LEVEL: 'error' });
  const app: INestApplication = started.app;
  try {
    await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/api/user-groups/v1`;
    const auth = { authorization: `Bearer ${started.staffToken}` };
    const json = (method: string, path: string, body?: string) =>
      fetch(`${base}${path}`, { method, headers: { ...auth, 'content-type': 'application/json' }, body });
    const group = async (name: string) =>
      (
        (await (
          await json(
            'POST',
            '/groups',
            JSON.stringify({ scope_type: 'course', scope_key: 'course-v1:Bench+Loop+2026', kind: 'manual', name }),
          )
        ).json()) as { id: string }
      ).id;

    for (let run = 0; run < REPEAT; run++) {
      // Accounts in the LMS (emulator), 20,000 a call; none of them known to groups-service yet.
      const users: Array<{ user_id: number; username: string }> = [];
      for (let i = 0; i < ROWS + BULK; i += 20_000) {
        users.push(
          ...(await started.lmsUsers(
            Array.from({ length: Math.min(20_000, ROWS + BULK - i) }, (_, k) => `loop_${run}_${i + k}`),
          )),
        );
      }
      const csv = `username\n${users
        .slice(0, ROWS)
        .map((u) => u.username)
        .join('\n')}\n`;
      const csvGroup = await group(`Loop CSV ${run}`);
      const imported = await measured(`CSV import, ${ROWS.toLocaleString('en')} rows (new accounts)`, () =>
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
      const added = await measured(`bulk add, ${BULK.toLocaleString('en')} user_ids (new accounts)`, () =>
        json('POST', `/groups/${bulkGroup}/members`, members),
      );
      const results = (added as { results?: Array<{ result: string }> }).results ?? [];
      console.log(
        `  results ${JSON.stringify(results.reduce<Record<string, number>>((n, r) => ({ ...n, [r.result]: (n[r.result] ?? 0) + 1 }), {}))}`,
      );
    }
  } finally {
    await started.stop();
  }
}

runBench(main);
