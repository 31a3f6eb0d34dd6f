import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { metric } from '@groups-sync/messaging';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LegacyLink } from '../links/legacy-link.entity';
import { KindRead, LegacyKind } from '../kinds/legacy-kind.port';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { Difference, findDrift, GroupMembership } from './drift';
import { DriftRepairs } from './drift-repairs.service';
import { GroupMembershipsClient } from './group-memberships.client';
import { LmsDatabase } from '../lms/lms-database';

/** Links compared per step: one LMS read and one groups-service read each. */
const LINKS_PER_STEP = 500;

export interface RunRow {
  id: string;
  scope_type: 'group' | 'course' | 'all' | 'teams';
  scope_key: string | null;
  dry_run: number | boolean;
  trigger_kind: 'api' | 'schedule' | 'link' | 'stream_gap';
  requested_by: string;
}

/** A difference as the report shows it: where, who, why, and what was done. */
export interface ReportedDifference {
  course_key: string;
  group_id: string | null;
  user_id: number | null;
  username: string | null;
  side: string;
  kind: string;
  reason: string;
  action: string;
  outcome: string;
}

export interface RunSummary {
  source: 'database' | 'rest';
  courses: number;
  groups_compared: number;
  memberships_compared: number;
  differences_found: number;
  found_by_kind: Record<string, number>;
  repaired_by_kind: Record<string, number>;
  /** Where the run's time went. */
  timings_ms: { lms_read: number; groups_read: number; compare: number; repair: number; store: number };
}

const found = metric(
  'reconciliation_drift_found_total',
  () =>
    new Counter({
      name: 'reconciliation_drift_found_total',
      help: 'Differences reconciliation found between the LMS and the groups, by kind',
      labelNames: ['kind'],
    }),
);
const repaired = metric(
  'reconciliation_drift_repaired_total',
  () =>
    new Counter({
      name: 'reconciliation_drift_repaired_total',
      help: 'Differences reconciliation repaired, by kind',
      labelNames: ['kind'],
    }),
);
export const runDuration = metric(
  'reconciliation_run_duration_seconds',
  () =>
    new Histogram({
      name: 'reconciliation_run_duration_seconds',
      help: 'Reconciliation runs, by scope and outcome',
      labelNames: ['scope', 'status'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    }),
);
const lastSuccess = metric(
  'reconciliation_last_success_timestamp_seconds',
  () =>
    new Gauge({
      name: 'reconciliation_last_success_timestamp_seconds',
      help: 'When each course was last reconciled successfully (Unix time)',
      labelNames: ['course_key'],
    }),
);

/**
 * One reconciliation run, whatever the kinds: for each linked legacy group in scope, the LMS's
 * learners (read by the link's kind) against the group's memberships, the differences judged by
 * `findDrift` (and the kind's rules across links, e.g. cohort moves), and (unless a dry run)
 * repaired by DriftRepairs. Renames made in the LMS update the link. Progress and the differences
 * are stored as the run goes, a step of up to 500 links at a time.
 */
@Injectable()
export class Reconciler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly kinds: LegacyKinds,
    private readonly groups: GroupMembershipsClient,
    private readonly repairs: DriftRepairs,
    private readonly config: LegacySyncServiceConfig,
    private readonly lmsDatabase: LmsDatabase,
  ) {}

  async execute(run: RunRow, heartbeat: (done: number, total: number) => Promise<void>): Promise<RunSummary> {
    const dryRun = !!run.dry_run;
    const links = await this.linksInScope(run);
    const summary: RunSummary = {
      source: this.lmsDatabase.pool ? 'database' : 'rest',
      courses: new Set(links.map((l) => l.courseKey)).size,
      groups_compared: 0,
      memberships_compared: 0,
      differences_found: 0,
      found_by_kind: {},
      repaired_by_kind: {},
      timings_ms: { lms_read: 0, groups_read: 0, compare: 0, repair: 0, store: 0 },
    };
    await heartbeat(0, links.length);
    let done = 0;
    // Each step's reads run while the step before it is compared and repaired.
    const all = [...steps(links)];
    const prefetch = (i: number) => {
      const read = this.read(all[i], summary);
      read.catch(() => undefined); // awaited below; a run that stops first must not leave it unhandled
      return read;
    };
    let next = all.length ? prefetch(0) : null;
    for (let i = 0; i < all.length; i++) {
      const read = await next!;
      next = i + 1 < all.length ? prefetch(i + 1) : null;
      const reported = await this.reconcileStep(run, all[i], read, dryRun, summary);
      const stored = Date.now();
      await this.store(run.id, reported);
      summary.timings_ms.store += Date.now() - stored;
      for (const d of reported) {
        summary.found_by_kind[d.kind] = (summary.found_by_kind[d.kind] ?? 0) + 1;
        found.inc({ kind: d.kind });
        if (d.outcome === 'repaired') {
          summary.repaired_by_kind[d.kind] = (summary.repaired_by_kind[d.kind] ?? 0) + 1;
          repaired.inc({ kind: d.kind });
        }
      }
      summary.differences_found += reported.length;
      done += all[i].length;
      await heartbeat(done, links.length);
    }
    if (!dryRun) {
      const courses = [...new Set(links.map((l) => l.courseKey))];
      for (let i = 0; i < courses.length; i += 1000) {
        const chunk = courses.slice(i, i + 1000);
        await this.dataSource.query(
          `INSERT INTO course_reconciliation (course_key, last_run_id, last_success_at) VALUES ${chunk.map(() => '(?, ?, NOW(6))').join(', ')}
           ON DUPLICATE KEY UPDATE last_run_id = VALUES(last_run_id), last_success_at = VALUES(last_success_at)`,
          chunk.flatMap((c) => [c, run.id]),
        );
      }
      const now = Date.now() / 1000;
      for (const c of courses) lastSuccess.set({ course_key: c }, now);
    }
    return summary;
  }

  /** Links in scope that name their legacy group; a site-wide run takes the courses with recent activity first. */
  private async linksInScope(run: RunRow): Promise<LegacyLink[]> {
    const where =
      run.scope_type === 'group'
        ? 'AND l.group_id = ?'
        : run.scope_type === 'course'
          ? 'AND l.course_key = ?'
          : run.scope_type === 'teams'
            ? 'AND l.legacy_type IN (?)'
            : '';
    const args =
      run.scope_type === 'teams' ? [this.kinds.scheduledLinkTypes] : run.scope_key === null ? [] : [run.scope_key];
    const rows: Array<Record<string, string>> = await this.dataSource.query(
      `SELECT l.group_id, l.course_key, l.legacy_type, l.legacy_id, l.legacy_name, l.group_name FROM legacy_link l LEFT JOIN course_reconciliation c ON c.course_key = l.course_key
       WHERE l.legacy_type IN (?) AND l.state = 'linked' AND l.legacy_id IS NOT NULL ${where}
       ORDER BY c.last_activity_at IS NULL, c.last_activity_at DESC, l.course_key, l.group_id`,
      [this.kinds.linkTypes, ...args],
    );
    return rows.map((r) =>
      Object.assign(new LegacyLink(), {
        groupId: r.group_id,
        courseKey: r.course_key,
        legacyType: r.legacy_type,
        legacyId: r.legacy_id,
        legacyName: r.legacy_name,
        groupName: r.group_name,
        state: 'linked',
        lastError: null,
      }),
    );
  }

  /**
   * Both sides of a step, read side by side: each kind reads its links' learners from the LMS. All
   * LMS reads are dated `readAt`, taken before either read starts (what the LMS replica had
   * applied): a change made after it, on either side, is newer than the repair, and groups-service
   * drops the repair.
   */
  private async read(links: LegacyLink[], summary: RunSummary): Promise<StepRead> {
    const readAt = await this.lmsDatabase.readAt();
    const timed = async <T>(phase: 'lms_read' | 'groups_read', work: Promise<T>) => {
      const t = Date.now();
      const out = await work;
      summary.timings_ms[phase] += Date.now() - t;
      return out;
    };
    const byKind = new Map<LegacyKind, LegacyLink[]>();
    for (const link of links) {
      const kind = this.kinds.of(link)!;
      (byKind.get(kind) ?? byKind.set(kind, []).get(kind))!.push(link);
    }
    const [reads, { memberships, missing }] = await Promise.all([
      timed(
        'lms_read',
        Promise.all([...byKind].map(async ([kind, own]) => [kind, await kind.readRosters(own)] as const)),
      ),
      timed('groups_read', this.groups.of(links.map((l) => l.groupId))),
    ]);
    return { readAt, reads: new Map(reads), memberships, missing };
  }

  /** Compares each link's LMS roster with the group's memberships by the drift rules, then repairs. */
  private async reconcileStep(
    run: RunRow,
    links: LegacyLink[],
    { readAt, reads, memberships, missing }: StepRead,
    dryRun: boolean,
    summary: RunSummary,
  ): Promise<ReportedDifference[]> {
    let t = Date.now();
    const lap = (phase: keyof RunSummary['timings_ms']) => {
      summary.timings_ms[phase] += Date.now() - t;
      t = Date.now();
    };
    const byGroup = new Map<string, GroupMembership[]>();
    for (const m of memberships) {
      if (!byGroup.has(m.group_id)) byGroup.set(m.group_id, []);
      byGroup.get(m.group_id)!.push(m);
    }
    const reported: ReportedDifference[] = [];
    const report = (l: LegacyLink, d: Omit<ReportedDifference, 'course_key' | 'group_id' | 'user_id' | 'username'>) =>
      reported.push({ course_key: l.courseKey, group_id: l.groupId, user_id: null, username: null, ...d });
    const found = new Map<LegacyKind, Difference[]>([...reads.keys()].map((k) => [k, []]));
    const now = Date.now();
    for (const link of links) {
      const kind = this.kinds.of(link)!;
      const roster = reads.get(kind)!.rosters.get(link.groupId)!;
      if (!roster.members) {
        report(link, { side: 'lms', action: 'none', outcome: 'reported', ...roster.notFound! });
        continue;
      }
      if (missing.has(link.groupId)) {
        report(link, {
          side: 'group',
          kind: 'group_not_found',
          reason: 'groups-service has no such group (deleted); the link stays until its deletion event',
          action: 'none',
          outcome: 'reported',
        });
        continue;
      }
      if (roster.name !== undefined && roster.name !== link.legacyName) {
        report(link, {
          side: 'lms',
          kind: `${link.legacyType}_renamed`,
          reason: `renamed in the LMS from "${link.legacyName ?? '?'}" to "${roster.name}"`,
          action: 'update_link',
          outcome: dryRun ? 'dry_run' : 'repaired',
        });
        if (!dryRun)
          await this.dataSource.query(
            'UPDATE legacy_link SET legacy_name = ?, updated_at = NOW(6) WHERE group_id = ?',
            [roster.name, link.groupId],
          );
      }
      const own = byGroup.get(link.groupId) ?? [];
      summary.groups_compared++;
      summary.memberships_compared += new Set([
        ...roster.members.keys(),
        ...own.filter((m) => m.active).map((m) => m.username.toLowerCase()),
      ]).size;
      const label = kind.driftLabel(link);
      const drift = findDrift(
        { groupId: link.groupId, courseKey: link.courseKey },
        roster.members,
        own,
        now,
        this.config.RECONCILE_PENDING_GRACE_SECONDS * 1000,
        readAt.getTime(),
      );
      found
        .get(kind)!
        .push(
          ...(label === null
            ? drift
            : drift.map((d) => ({ ...d, reason: d.reason.replace('in the cohort', `in the ${label}`) }))),
        );
    }
    const differences = [...found].flatMap(([kind, own]) => reads.get(kind)!.refine?.(own) ?? own);
    lap('compare');
    const outcomes = dryRun
      ? new Map<Difference, string>()
      : await this.repairs.repair(run, differences, readAt, new Map(links.map((l) => [l.groupId, l])));
    lap('repair');
    for (const d of differences) {
      reported.push({
        course_key: d.courseKey,
        group_id: d.groupId,
        user_id: d.userId,
        username: d.username,
        side: d.side,
        kind: d.kind,
        reason: d.reason,
        action: d.action,
        outcome: d.action === 'none' ? 'left_alone' : dryRun ? 'dry_run' : (outcomes.get(d) ?? 'repaired'),
      });
    }
    return reported;
  }

  private async store(runId: string, reported: ReportedDifference[]): Promise<void> {
    for (let i = 0; i < reported.length; i += 1000) {
      const chunk = reported.slice(i, i + 1000);
      await this.dataSource.query(
        `INSERT INTO reconciliation_difference (run_id, course_key, group_id, user_id, username, side, kind, reason, action, outcome) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((d) => [
          runId,
          d.course_key,
          d.group_id,
          d.user_id,
          d.username,
          d.side,
          d.kind,
          d.reason.slice(0, 500),
          d.action,
          d.outcome.slice(0, 255),
        ]),
      );
    }
  }
}

interface StepRead {
  readAt: Date;
  reads: Map<LegacyKind, KindRead>;
  memberships: GroupMembership[];
  missing: Set<string>;
}

/** Whole courses per step, about LINKS_PER_STEP links each. */
function* steps(links: LegacyLink[]): Generator<LegacyLink[]> {
  let step: LegacyLink[] = [];
  for (let i = 0; i < links.length; i++) {
    step.push(links[i]);
    const courseEnds = i + 1 === links.length || links[i + 1].courseKey !== links[i].courseKey;
    if (courseEnds && step.length >= LINKS_PER_STEP) {
      yield step;
      step = [];
    }
  }
  if (step.length) yield step;
}
