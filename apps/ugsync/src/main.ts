import { SingleBar, Presets } from 'cli-progress';
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, endpointsFromEnv } from './api-client';

const USAGE = `ugsync: the operators' command line of openedx-groups-sync

  ugsync reconcile --group ID | --course KEY | --all [--dry-run] [--no-wait]
  ugsync dlq list [--consumer-group G] [--reason R] [--since ISO] [--type T] [--state open|replayed|resolved|all] [--limit N] [--after ID]
  ugsync dlq show TOPIC:PARTITION:OFFSET
  ugsync dlq replay [filters] [--dry-run] [--limit N] [--after ID]
  ugsync dlq resolve [filters] [--note TEXT] [--dry-run] [--limit N] [--after ID]
  ugsync status
  ugsync pause [--course KEY]
  ugsync resume [--course KEY]

Every command takes --json (machine-readable output) and --token JWT (else the OAuth2 client
UGSYNC_CLIENT_ID / UGSYNC_CLIENT_SECRET gets one from the LMS). Endpoints: UGSYNC_LEGACY_SYNC_URL,
UGSYNC_GROUPS_URL, UGSYNC_GROUPS_OPS_URL (its operations port, for /metrics), UGSYNC_LMS_URL (the local stack's by default).

dlq list shows up to --limit letters (100) from --after on, and the --after of the rest; replay and
resolve go through every page of --limit letters read (the most the API reads at once, 500, by
default) from --after on.`;

const OPTIONS = {
  json: { type: 'boolean' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  group: { type: 'string' },
  course: { type: 'string' },
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  'consumer-group': { type: 'string' },
  reason: { type: 'string' },
  since: { type: 'string' },
  type: { type: 'string' },
  state: { type: 'string' },
  note: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
} as const;

type Flags = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  if (flags.help || !positionals.length) {
    process.stdout.write(`${USAGE}\n`);
    return flags.help ? 0 : 2;
  }
  const api = new ApiClient({ ...endpointsFromEnv(), ...(flags.token ? { token: flags.token } : {}) });
  const out = (json: unknown, text: () => string) =>
    process.stdout.write(`${flags.json ? JSON.stringify(json, null, 2) : text()}\n`);
  const [command, sub, arg] = positionals;
  const base = `${api.endpoints.legacySync}/api/legacy-sync/v1`;
  switch (command) {
    case 'reconcile':
      return reconcile(api, base, flags, out);
    case 'dlq':
      return deadLetters(api, base, sub, arg, flags, out);
    case 'status': {
      const status = await api.call('GET', `${base}/status`);
      status.outbox['groups-service'] = await groupsOutbox(api).catch((e: Error) => ({ error: e.message }));
      out(status, () => statusText(status));
      return 0;
    }
    case 'pause':
    case 'resume': {
      const res = await api.call(
        'POST',
        `${base}/lms-writes/${command}`,
        flags.course ? { course_key: flags.course } : {},
      );
      out(
        res,
        () =>
          (command === 'pause'
            ? `writes to the LMS paused for ${res.paused === '*' ? 'every course' : res.paused}`
            : `resumed (${res.lifted} pause${res.lifted === 1 ? '' : 's'} lifted)`) +
          `\nnow paused: ${res.pauses.length ? res.pauses.map((p: { course_key: string; paused_by: string }) => `${p.course_key} (by ${p.paused_by})`).join(', ') : 'nothing'}`,
      );
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

async function reconcile(
  api: ApiClient,
  base: string,
  flags: Flags,
  out: (json: unknown, text: () => string) => void,
): Promise<number> {
  const scopes = [
    flags.group && { group_id: flags.group },
    flags.course && { course_key: flags.course },
    flags.all && { all: true },
  ].filter(Boolean);
  if (scopes.length !== 1) {
    process.stderr.write('reconcile: give exactly one of --group ID, --course KEY or --all\n');
    return 2;
  }
  const queued = await api.call('POST', `${base}/reconciliations`, {
    ...(scopes[0] as object),
    dry_run: !!flags['dry-run'],
  });
  if (flags['no-wait']) {
    out(queued, () => `reconciliation ${queued.id} queued`);
    return 0;
  }
  const bar =
    process.stderr.isTTY && !flags.json
      ? new SingleBar(
          { format: 'reconciling [{bar}] {value}/{total} groups | {duration}s', hideCursor: true },
          Presets.shades_classic,
        )
      : null;
  bar?.start(1, 0);
  let run: any;
  for (;;) {
    run = await api.call('GET', `${base}/reconciliations/${queued.id}?differences_limit=10000`);
    if (bar && run.progress.total) {
      bar.setTotal(run.progress.total);
      bar.update(run.progress.done);
    }
    if (run.status === 'succeeded' || run.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  bar?.stop();
  out(run, () => runText(run));
  return run.status === 'succeeded' ? 0 : 1;
}

async function deadLetters(
  api: ApiClient,
  base: string,
  sub: string | undefined,
  arg: string | undefined,
  flags: Flags,
  out: (json: unknown, text: () => string) => void,
): Promise<number> {
  const filter = {
    ...(flags['consumer-group'] ? { consumer_group: flags['consumer-group'] } : {}),
    ...(flags.reason ? { reason: flags.reason } : {}),
    ...(flags.since ? { since: flags.since } : {}),
    ...(flags.type ? { type: flags.type } : {}),
    ...(flags.state ? { state: flags.state } : {}),
  };
  const limit = flags.limit === undefined ? undefined : Number(flags.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    process.stderr.write('--limit: a positive whole number\n');
    return 2;
  }
  switch (sub) {
    case 'list': {
      // The API reads a page of letters and filters them: pages until enough letters are kept.
      const wanted = limit ?? 100;
      const results: any[] = [];
      let after: string | null = flags.after ?? null;
      do {
        const page = await api.call(
          'GET',
          `${base}/dead-letters?${new URLSearchParams({ ...filter, limit: String(Math.min(wanted - results.length, 500)), ...(after ? { after } : {}) })}`,
        );
        results.push(...page.results);
        after = page.next_after;
      } while (after && results.length < wanted);
      const res = { count: results.length, results, next_after: after };
      out(res, () => `${deadLettersText(results) || 'no dead letters'}${after ? `\nmore: --after ${after}` : ''}`);
      return 0;
    }
    case 'show': {
      if (!arg) {
        process.stderr.write('dlq show TOPIC:PARTITION:OFFSET\n');
        return 2;
      }
      const res = await api.call('GET', `${base}/dead-letters/${encodeURIComponent(arg)}`);
      out(res, () => JSON.stringify(res, null, 2));
      return 0;
    }
    case 'replay':
    case 'resolve': {
      const res = { dry_run: !!flags['dry-run'], count: 0, dead_letters: [] as any[], not_replayed: [] as any[] };
      let after: string | null = flags.after ?? null;
      do {
        const page = await api.call('POST', `${base}/dead-letters/${sub === 'replay' ? 'replays' : 'resolutions'}`, {
          ...filter,
          dry_run: res.dry_run,
          ...(flags.note ? { note: flags.note } : {}),
          limit: limit ?? 500,
          ...(after ? { after } : {}),
        });
        res.count += page.count;
        res.dead_letters.push(...page.dead_letters);
        res.not_replayed.push(...(page.not_replayed ?? []));
        after = page.next_after;
      } while (after);
      const verb = sub === 'replay' ? 'replayed' : 'resolved';
      const refused = res.not_replayed.length
        ? `\nnot replayed (the learner was retired; resolve them): ${res.not_replayed.map((r) => r.id).join(', ')}`
        : '';
      out(
        res,
        () =>
          `${res.dry_run ? `would be ${verb}` : verb}: ${res.count}\n${deadLettersText(res.dead_letters)}${refused}`,
      );
      return 0;
    }
    default:
      process.stderr.write(`dlq: list, show, replay or resolve\n\n${USAGE}\n`);
      return 2;
  }
}

/** groups-service has no status API: its outbox backlog from its (public) metrics. */
async function groupsOutbox(api: ApiClient) {
  const text = await api.metrics(api.endpoints.groupsOps);
  const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { backlog: value('outbox_backlog'), oldest_age_seconds: value('outbox_oldest_age_seconds') };
}

function table(rows: Array<Record<string, unknown>>): string {
  if (!rows.length) return '';
  const columns = Object.keys(rows[0]);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

function deadLettersText(letters: any[]): string {
  return table(
    letters.map((l) => ({
      id: l.id,
      group: l.consumer_group,
      reason: l.reason,
      type: l.event_type,
      ce_id: l.ce_id,
      at: l.dead_lettered_at,
      state: l.state,
    })),
  );
}

function runText(run: any): string {
  const r = run.report;
  const head = `reconciliation ${run.id}: ${run.status}${run.dry_run ? ' (dry run)' : ''}, ${run.scope.type}${run.scope.key ? ` ${run.scope.key}` : ''}`;
  if (!r) return `${head}${run.error ? `\nerror: ${run.error}` : ''}`;
  const kinds = Object.entries(r.found_by_kind as Record<string, number>).map(([k, n]) => ({
    kind: k,
    found: n,
    repaired: r.repaired_by_kind[k] ?? 0,
  }));
  return [
    head,
    `read the LMS through its ${r.source === 'database' ? 'database' : 'REST API'}: ${r.courses} courses, ${r.groups_compared} groups, ${r.memberships_compared} memberships compared, ${r.differences_found} differences`,
    kinds.length ? `\n${table(kinds)}` : '',
    r.differences.length
      ? `\n${table(r.differences.slice(0, 50).map((d: any) => ({ group: d.group_id, user: d.username, side: d.side, kind: d.kind, action: d.action, outcome: d.outcome })))}`
      : '',
    r.differences_found > 50 ? `... and ${r.differences_found - 50} more (--json lists them all)` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

function statusText(s: any): string {
  const lag = Object.entries(s.consumer_lag as Record<string, Record<string, number>>).flatMap(([group, topics]) =>
    Object.entries(topics).map(([topic, n]) => ({ group, topic, lag: n })),
  );
  const dead = Object.entries(s.dead_letters as Record<string, { total: number; open: number }>).map(([group, c]) => ({
    group,
    total: c.total,
    open: c.open,
  }));
  const outbox = Object.entries(s.outbox as Record<string, any>).map(([service, o]) => ({
    service,
    backlog: o.backlog ?? o.error,
    oldest_age_seconds: o.oldest_age_seconds,
  }));
  const streamLag = Object.entries((s.lms_streams?.lag ?? {}) as Record<string, Record<string, number | null>>).flatMap(
    ([group, streams]) => Object.entries(streams).map(([stream, n]) => ({ group, stream, unread: n ?? 'unknown' })),
  );
  const gaps = ((s.lms_streams?.gaps ?? []) as any[]).map((g) => ({
    group: g.group,
    stream: g.stream,
    reason: g.reason,
    lost: g.lost ?? 'unknown',
    at: g.at,
  }));
  const last = (s.reconciliations.last_per_course as any[])
    .slice(0, 20)
    .map((c) => ({ course: c.course_key, last_success: c.last_success_at, last_activity: c.last_activity_at }));
  return [
    `consumer lag\n${table(lag)}`,
    ...(s.lms_streams?.enabled
      ? [
          `LMS Redis streams (unread)\n${table(streamLag) || '(no group yet)'}`,
          `LMS events lost to stream trimming\n${table(gaps) || '(none)'}`,
        ]
      : []),
    `dead letters\n${table(dead) || '(none)'}`,
    `outbox backlog\n${table(outbox)}`,
    `writes to the LMS: ${s.lms_writes.paused ? `PAUSED for ${s.lms_writes.pauses.map((p: any) => p.course_key).join(', ')}` : 'running'}`,
    `last reconciliation per course\n${table(last) || '(none yet)'}`,
  ].join('\n\n');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`ugsync: ${error instanceof ApiError ? error.message : (error.stack ?? error.message)}\n`);
    process.exit(1);
  },
);
