// Reconciliation at site scale: N cohort-linked groups of M members each (N*M memberships), with a
// share of drift made in the LMS behind the sync's back (removals, which the LMS never announces,
// and adds whose events were lost). Prints how long a site-wide run takes to report and to repair
// through the LMS database path, beside the floor of the same run (reading the same rows with plain
// SQL), and the REST path's rate per cohort.
//   npm run bench:reconcile [-- --groups 10000 --members 100 --drift 0.01 --rest-cohorts 20] (--quick: 1,000 groups)
import { createConnection, Connection } from 'mysql2/promise';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dropDatabase, parseMysqlUrl } from '@groups-sync/persistence';
import { http, ServiceProcess, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { operator, runBench } from './bench-support';

const { values: args } = parseArgs({
  options: {
    groups: { type: 'string' },
    members: { type: 'string', default: '100' },
    drift: { type: 'string', default: '0.01' },
    'rest-cohorts': { type: 'string', default: '20' },
    quick: { type: 'boolean' },
  },
});
const GROUPS = Number(args.groups ?? (args.quick ? 1000 : 10_000));
const MEMBERS = Number(args.members);
const DRIFT = Number(args.drift);
const REST_COHORTS = Number(args['rest-cohorts']);
const env = stackEnv();
const prefix = `bench-${uniqueSuffix()}`;
const db = {
  lms: `lms_${prefix.replace(/-/g, '_')}_test`,
  groups: `groups_${prefix.replace(/-/g, '_')}_test`,
  sync: `sync_${prefix.replace(/-/g, '_')}_test`,
};
const PORT = 61_900;
const course = (i: number) => `course-v1:Bench+R${i}+2026`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function connect(database: string): Promise<Connection> {
  const { host, port, username, password } = parseMysqlUrl(env.MYSQL_URL);
  return createConnection({ host, port, user: username, password, database, multipleStatements: false });
}

/** Multi-row inserts of `rows`, 5,000 at a time. */
async function insert(conn: Connection, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    await conn.query(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ')}`,
      chunk.flat(),
    );
  }
}

function rssMb(pid: number | undefined): string {
  if (!pid) return '?';
  const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return peak ? `${(Number(peak) / 1024).toFixed(0)} MB` : '?';
}

async function main(): Promise<void> {
  const common = { ...env, EVENT_BUS_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', RECONCILE_EVERY_MINUTES: '0' };
  const lmsUrl = `http://127.0.0.1:${PORT}`;
  const jwt = { JWT_JWKS_URL: `${lmsUrl}/oauth2/jwks.json`, JWT_ISSUER: `${lmsUrl}/oauth2`, LMS_BASE_URL: lmsUrl };
  const lms = new ServiceProcess(
    'lms-emulator',
    PORT,
    { ...common, DB_NAME: db.lms, LMS_JWT_ISSUER: `${lmsUrl}/oauth2`, EMIT_EVENTS: 'false' },
    `${prefix}-lms`,
  );
  const groups = new ServiceProcess(
    'groups-service',
    PORT + 1,
    { ...common, ...jwt, DB_NAME: db.groups },
    `${prefix}-groups`,
  );
  const syncEnv = { ...common, ...jwt, DB_NAME: db.sync, GROUPS_SERVICE_URL: groups.url };
  let sync = new ServiceProcess(
    'legacy-sync-service',
    PORT + 2,
    { ...syncEnv, LMS_DB_URL: `${env.MYSQL_URL}/${db.lms}` },
    `${prefix}-sync`,
  );
  const conns: Connection[] = [];
  try {
    await lms.start();
    await Promise.all([groups.start(), sync.start()]);
    const [lmsDb, groupsDb, syncDb] = await Promise.all([connect(db.lms), connect(db.groups), connect(db.sync)]);
    conns.push(lmsDb, groupsDb, syncDb);

    // ---- seed: both sides agree, then the LMS drifts ----
    const t0 = Date.now();
    const users = Array.from({ length: MEMBERS * 2 }, (_, j) => j + 1); // the second half joins cohorts behind our back
    await insert(
      lmsDb,
      'auth_user',
      ['id', 'username', 'email', 'date_joined'],
      users.map((j) => [j, `bench_u${j}`, `bench_u${j}@example.com`, new Date()]),
    );
    const groupIds = Array.from({ length: GROUPS }, () => randomUUID());
    const cohorts = groupIds.map((_, i) => i + 1);
    await insert(
      lmsDb,
      'course_groups_courseusergroup',
      ['id', 'name', 'course_id', 'group_type'],
      cohorts.map((c, i) => [c, `Cohort ${i}`, course(i), 'cohort']),
    );
    await insert(
      lmsDb,
      'course_groups_coursecohort',
      ['assignment_type', 'course_user_group_id'],
      cohorts.map((c) => ['manual', c]),
    );
    await insert(
      lmsDb,
      'course_groups_coursecohortssettings',
      ['course_id', 'is_cohorted'],
      cohorts.map((_, i) => [course(i), 1]),
    );
    const changedAt = new Date(Date.now() - 86_400_000);
    await insert(
      groupsDb,
      'user_group',
      ['id', 'scope_type', 'scope_key', 'name', 'description', 'kind'],
      groupIds.map((id, i) => [id, 'course', course(i), `Cohort ${i}`, '', 'legacy']),
    );
    await insert(
      groupsDb,
      'criterion',
      ['group_id', 'position', 'type', 'operator', 'value', 'config'],
      groupIds.map((id, i) => [id, 0, 'legacy_cohort', '=', null, JSON.stringify({ cohort_id: i + 1 })]),
    );
    await insert(
      syncDb,
      'legacy_link',
      ['group_id', 'course_key', 'legacy_type', 'legacy_id', 'legacy_name', 'group_name', 'state'],
      groupIds.map((id, i) => [id, course(i), 'cohort', String(i + 1), `Cohort ${i}`, `Cohort ${i}`, 'linked']),
    );
    for (let i = 0; i < GROUPS; i += 200) {
      const block = groupIds.slice(i, i + 200);
      await insert(
        lmsDb,
        'course_groups_cohortmembership',
        ['course_id', 'course_user_group_id', 'user_id'],
        block.flatMap((_, k) => users.slice(0, MEMBERS).map((u) => [course(i + k), i + k + 1, u])),
      );
      await insert(
        groupsDb,
        'membership',
        [
          'group_id',
          'user_id',
          'username',
          'active',
          'joined_at',
          'origin',
          'changed_at',
          'sync_state',
          'legacy_observed_at',
        ],
        block.flatMap((id) =>
          users
            .slice(0, MEMBERS)
            .map((u) => [id, u, `bench_u${u}`, 1, changedAt, 'api', changedAt, 'synced', changedAt]),
        ),
      );
    }
    const drift = Math.round(GROUPS * MEMBERS * DRIFT);
    const removed = Math.floor(drift / 2);
    // Removals in the LMS (no event exists for them) and adds whose events were lost, spread over the courses.
    for (let k = 0; k < removed; k++) {
      const g = (k * 7919) % GROUPS;
      await lmsDb.query('DELETE FROM course_groups_cohortmembership WHERE course_id = ? AND user_id = ?', [
        course(g),
        1 + (Math.floor(k / GROUPS) % MEMBERS),
      ]);
    }
    const added = drift - removed;
    await insert(
      lmsDb,
      'course_groups_cohortmembership',
      ['course_id', 'course_user_group_id', 'user_id'],
      Array.from({ length: added }, (_, k) => {
        const g = (k * 104_729) % GROUPS;
        return [course(g), g + 1, MEMBERS + 1 + (Math.floor(k / GROUPS) % MEMBERS)];
      }),
    );
    // Fresh statistics, as a database that grew over years has (right after a bulk load the
    // optimizer's row counts are stale and it scans instead of using the indexes).
    for (const table of ['auth_user', 'course_groups_courseusergroup', 'course_groups_cohortmembership'])
      await lmsDb.query(`ANALYZE TABLE ${table}`);
    for (const table of ['user_group', 'membership']) await groupsDb.query(`ANALYZE TABLE ${table}`);
    await syncDb.query('ANALYZE TABLE legacy_link');
    console.log(
      `seeded ${GROUPS.toLocaleString()} linked groups, ${(GROUPS * MEMBERS).toLocaleString()} memberships, ${drift.toLocaleString()} differences (${removed} removed in the LMS, ${added} added without an event) in ${seconds(Date.now() - t0)}`,
    );

    // ---- the floor: the same rows read with plain SQL ----
    const tRaw = Date.now();
    await lmsDb.query(
      `SELECT m.course_id, m.course_user_group_id, u.id, u.username FROM course_groups_cohortmembership m JOIN auth_user u ON u.id = m.user_id`,
    );
    await groupsDb.query(
      'SELECT group_id, user_id, username, active, origin, sync_state, changed_at, legacy_observed_at FROM membership',
    );
    const rawMs = Date.now() - tRaw;

    // ---- the database path, site-wide ----
    const api = await operator(lmsUrl);
    const run = async (body: object) => {
      const t = Date.now();
      const queued = await http('POST', `${sync.url}/api/legacy-sync/v1/reconciliations`, body, api);
      if (queued.status !== 202) throw new Error(`reconcile: ${queued.status} ${JSON.stringify(queued.body)}`);
      for (;;) {
        const res = await http(
          'GET',
          `${sync.url}/api/legacy-sync/v1/reconciliations/${queued.body.id}?differences_limit=1`,
          undefined,
          api,
        );
        if (res.body.status === 'succeeded') return { ms: Date.now() - t, run: res.body };
        if (res.body.status === 'failed') throw new Error(`run failed: ${res.body.error}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const first = await run({ all: true });
    // Every repaired membership's latest change is the repair (origin reconciliation).
    const tRepair = Date.now();
    for (;;) {
      const [[{ n }]] = (await groupsDb.query(
        `SELECT COUNT(*) AS n FROM membership WHERE origin = 'reconciliation'`,
      )) as any;
      if (Number(n) === drift) break;
      if (Date.now() - tRepair > 600_000) throw new Error(`repairs not applied after 10 min: ${n} of ${drift}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const repairedMs = first.ms + (Date.now() - tRepair);
    const second = await run({ all: true });
    const dbPeak = rssMb(sync.pid);

    // ---- the REST path, per cohort ----
    await sync.stop();
    sync = new ServiceProcess('legacy-sync-service', PORT + 2, syncEnv, `${prefix}-sync-rest`);
    await sync.start();
    const tRest = Date.now();
    let restMembers = 0;
    for (let i = 0; i < REST_COHORTS; i++) {
      const r = await run({ course_key: course(i) });
      restMembers += r.run.report.memberships_compared;
    }
    const restMs = Date.now() - tRest;

    const r = first.run.report;
    console.log(
      `\nreconciliation of ${GROUPS.toLocaleString()} groups / ${(GROUPS * MEMBERS).toLocaleString()} memberships, ${(DRIFT * 100).toFixed(1)} % drift (LMS database path)`,
    );
    console.log(`| figure | measured | baseline (same run) |`);
    console.log(`| --- | --- | --- |`);
    console.log(
      `| site-wide run, report stored | ${seconds(first.ms)} (${r.differences_found.toLocaleString()} differences, ${r.memberships_compared.toLocaleString()} memberships compared) | plain SQL read of the same rows: ${seconds(rawMs)} |`,
    );
    console.log(`| report and repair (groups-service applied every repair) | ${seconds(repairedMs)} | target ≤ 60 s |`);
    console.log(
      `| second run (nothing left to repair) | ${seconds(second.ms)}, ${second.run.report.differences_found} differences ${JSON.stringify(second.run.report.found_by_kind)}; time (ms) ${JSON.stringify(second.run.report.timings_ms)} | |`,
    );
    console.log(`| legacy-sync peak RSS | ${dbPeak} | |`);
    console.log(
      `| REST path | ${(REST_COHORTS / (restMs / 1000)).toFixed(1)} cohorts/s, ${(restMembers / (restMs / 1000)).toFixed(0)} memberships/s (${REST_COHORTS} runs of one course each) | database path: ${(GROUPS / (first.ms / 1000)).toFixed(0)} cohorts/s |`,
    );
    console.log(
      `found by kind: ${JSON.stringify(r.found_by_kind)}; repaired: ${JSON.stringify(r.repaired_by_kind)}; where the time went (ms): ${JSON.stringify(r.timings_ms)}`,
    );
  } finally {
    for (const c of conns) await c.end().catch(() => undefined);
    await Promise.all([sync.stop(), groups.stop(), lms.stop()]);
    for (const name of Object.values(db)) await dropDatabase(env.MYSQL_URL, name).catch(() => undefined);
  }
}

runBench(main);
