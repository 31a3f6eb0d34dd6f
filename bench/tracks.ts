// Enrollment tracks at course scale: a course with N enrollments (about half verified, a tenth
// credit, a quarter audit, the rest inactive), then groups linked to its verified and audit tracks.
// Prints how long each link takes to import its learners (from the request until groups-service
// holds them all) through the LMS database path and through the enrollment REST API, beside the
// floor of the same run (reading the same rows with plain SQL).
//   npm run bench:tracks [-- --enrollments 100000 --rest 10000] (--quick: 10,000)
import { createConnection, Connection } from 'mysql2/promise';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dropDatabase, parseMysqlUrl } from '@groups-sync/persistence';
import { http, ServiceProcess, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { operator, runBench } from './bench-support';

const { values: args } = parseArgs({
  options: { enrollments: { type: 'string' }, rest: { type: 'string' }, quick: { type: 'boolean' } },
});
const ENROLLMENTS = Number(args.enrollments ?? (args.quick ? 10_000 : 100_000));
const REST = Number(args.rest ?? (args.quick ? 2_000 : 10_000));
const env = stackEnv();
const prefix = `bench-${uniqueSuffix()}`;
const db = {
  lms: `lms_${prefix.replace(/-/g, '_')}_test`,
  groups: `groups_${prefix.replace(/-/g, '_')}_test`,
  sync: `sync_${prefix.replace(/-/g, '_')}_test`,
};
const PORT = 61_850;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const modeOf = (i: number) => (i % 20 < 10 ? 'verified' : i % 20 < 12 ? 'credit' : i % 20 < 17 ? 'audit' : 'verified');
const activeOf = (i: number) => i % 20 < 17; // the last three in twenty are unenrolled

async function connect(database: string): Promise<Connection> {
  const { host, port, username, password } = parseMysqlUrl(env.MYSQL_URL);
  return createConnection({ host, port, user: username, password, database });
}

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
  const peak = pid ? /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] : undefined;
  return peak ? `${(Number(peak) / 1024).toFixed(0)} MB` : '?';
}

async function main(): Promise<void> {
  const common = {
    ...env,
    EVENT_BUS_TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    RECONCILE_EVERY_MINUTES: '0',
    RECONCILE_TEAMS_EVERY_SECONDS: '0',
  };
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
    { ...syncEnv, LMS_DB_URL: `${env.MYSQL_URL.replace(/\/$/, '')}/${db.lms}` },
    `${prefix}-sync`,
  );
  const conns: Connection[] = [];
  try {
    await lms.start();
    await Promise.all([groups.start(), sync.start()]);
    const [lmsDb, groupsDb] = await Promise.all([connect(db.lms), connect(db.groups)]);
    conns.push(lmsDb, groupsDb);
    const api = await operator(lmsUrl);

    const seed = async (course: string, count: number, offset: number) => {
      await insert(lmsDb, 'course_groups_coursecohortssettings', ['course_id', 'is_cohorted'], [[course, 0]]);
      const ids = Array.from({ length: count }, (_, i) => offset + i + 1);
      await insert(
        lmsDb,
        'auth_user',
        ['id', 'username', 'email', 'date_joined'],
        ids.map((id) => [id, `track_u${id}`, `track_u${id}@example.com`, new Date()]),
      );
      await insert(
        lmsDb,
        'student_courseenrollment',
        ['course_id', 'created', 'is_active', 'mode', 'user_id'],
        ids.map((id, i) => [course, new Date(), activeOf(i) ? 1 : 0, modeOf(i), id]),
      );
      await lmsDb.query('ANALYZE TABLE student_courseenrollment');
    };
    const expected = (count: number, track: string) =>
      Array.from({ length: count }, (_, i) => i).filter(
        (i) => activeOf(i) && (track === 'verified' ? ['verified', 'credit'].includes(modeOf(i)) : modeOf(i) === track),
      ).length;
    /** From the request until groups-service holds every learner of the track. */
    const link = async (course: string, mode: string, want: number) => {
      const t = Date.now();
      const res = await http(
        'POST',
        `${groups.url}/api/user-groups/v1/groups`,
        {
          scope_type: 'course',
          scope_key: course,
          name: `Track ${mode}`,
          kind: 'legacy',
          criteria: [{ type: 'legacy_enrollment_track', config: { mode } }],
        },
        api,
      );
      if (res.status !== 201) throw new Error(`group: ${res.status} ${JSON.stringify(res.body)}`);
      for (;;) {
        const [[{ n }]] = (await groupsDb.query(
          'SELECT COUNT(*) AS n FROM membership WHERE group_id = ? AND active = 1',
          [res.body.id],
        )) as any;
        if (Number(n) === want) return Date.now() - t;
        if (Date.now() - t > 900_000) throw new Error(`import of the ${mode} track: ${n} of ${want} after 15 min`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    const tSeed = Date.now();
    const big = 'course-v1:Bench+Tracks+2026';
    await seed(big, ENROLLMENTS, 0);
    console.log(`seeded ${ENROLLMENTS.toLocaleString()} enrollments in ${seconds(Date.now() - tSeed)}`);
    const tFloor = Date.now();
    await lmsDb.query(
      `SELECT e.mode, u.id, u.username FROM student_courseenrollment e JOIN auth_user u ON u.id = e.user_id WHERE e.course_id = ? AND e.is_active = 1`,
      [big],
    );
    const floorMs = Date.now() - tFloor;
    const verified = expected(ENROLLMENTS, 'verified');
    const verifiedMs = await link(big, 'verified', verified);
    const audit = expected(ENROLLMENTS, 'audit');
    const auditMs = await link(big, 'audit', audit);
    const syncRss = rssMb(sync.pid);
    const groupsRss = rssMb(groups.pid);

    // The REST path: legacy-sync without the LMS's database reads the enrollment API (100 a page).
    await sync.stop();
    sync = new ServiceProcess('legacy-sync-service', PORT + 2, syncEnv, `${prefix}-sync-rest`);
    await sync.start();
    const small = 'course-v1:Bench+TracksRest+2026';
    await seed(small, REST, ENROLLMENTS);
    const restWant = expected(REST, 'verified');
    const restMs = await link(small, 'verified', restWant);

    console.log(
      `\nenrollment tracks of a course with ${ENROLLMENTS.toLocaleString()} enrollments (times: request → every learner in the group in groups-service)`,
    );
    console.log('| link | learners | import | baseline (same run) |');
    console.log('| --- | --- | --- | --- |');
    console.log(
      `| verified track (credit included), LMS database path | ${verified.toLocaleString()} | ${seconds(verifiedMs)} (${Math.round(verified / (verifiedMs / 1000)).toLocaleString()}/s) | plain SQL read of the course's active enrollments: ${seconds(floorMs)} |`,
    );
    console.log(
      `| audit track, LMS database path | ${audit.toLocaleString()} | ${seconds(auditMs)} (${Math.round(audit / (auditMs / 1000)).toLocaleString()}/s) | |`,
    );
    console.log(
      `| verified track, enrollment REST API (a course of ${REST.toLocaleString()}) | ${restWant.toLocaleString()} | ${seconds(restMs)} (${Math.round(restWant / (restMs / 1000)).toLocaleString()}/s) | |`,
    );
    console.log(`| peak RSS | legacy-sync ${syncRss}, groups-service ${groupsRss} | | |`);
  } finally {
    for (const c of conns) await c.end().catch(() => undefined);
    await Promise.all([sync.stop(), groups.stop(), lms.stop()]);
    for (const name of Object.values(db)) await dropDatabase(env.MYSQL_URL, name).catch(() => undefined);
  }
}

runBench(main);
