import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { EventType, LegacyMembershipObservedData, LegacySyncCompletedData, toCeTime } from '@groups-sync/contracts';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { metric, OutboxWriter } from '@groups-sync/messaging';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { CohortDirectory } from '../lms/cohort-directory';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';
import { LmsWritePauses } from '../lms-writes/lms-write-pauses';
import { runLimited } from '../user-group-events/legacy-writes.service';
import { LmsDatabase } from './lms-database';
import { CohortRoster, CourseRoster } from './cohort-roster';
import { Difference, findDrift, GroupMembership, impliedByMoves, LmsMember } from './drift';
import { TrackRoster, TrackRosterOfCourse } from './track-roster';
import { TeamRoster, TeamRosterOfLink } from './team-roster';
import { LmsTeamsClient } from '../lms/lms-teams.client';
import { teamRefusal } from '../user-group-events/legacy-writes.service';
import { GroupMembershipsClient } from './group-memberships.client';

/** Links compared per step: one LMS read and one groups-service read each. */
const LINKS_PER_STEP = 500;

export interface RunRow {
  id: string; scope_type: 'group' | 'course' | 'all' | 'teams'; scope_key: string | null; dry_run: number | boolean;
  trigger_kind: 'api' | 'schedule' | 'link' | 'stream_gap'; requested_by: string;
}

/** A difference as the report shows it: where, who, why, and what was done. */
export interface ReportedDifference {
  course_key: string; group_id: string | null; user_id: number | null; username: string | null;
  side: string; kind: string; reason: string; action: string; outcome: string;
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

const found = metric('reconciliation_drift_found_total', () => new Counter({
  name: 'reconciliation_drift_found_total', help: 'Differences reconciliation found between the LMS and the groups, by kind', labelNames: ['kind'],
}));
const repaired = metric('reconciliation_drift_repaired_total', () => new Counter({
  name: 'reconciliation_drift_repaired_total', help: 'Differences reconciliation repaired, by kind', labelNames: ['kind'],
}));
export const runDuration = metric('reconciliation_run_duration_seconds', () => new Histogram({
  name: 'reconciliation_run_duration_seconds', help: 'Reconciliation runs, by scope and outcome', labelNames: ['scope', 'status'],
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
}));
const lastSuccess = metric('reconciliation_last_success_timestamp_seconds', () => new Gauge({
  name: 'reconciliation_last_success_timestamp_seconds', help: 'When each course was last reconciled successfully (Unix time)', labelNames: ['course_key'],
}));

/**
 * One reconciliation run: for each linked cohort in scope, the LMS's members against the group's
 * memberships, the differences judged by `findDrift`, and (unless a dry run) repaired:
 * - on the group's side by `legacy_membership.observed.v1` events dated by when the LMS was read,
 *   which groups-service applies with its ordering rules (a change made after the read wins);
 * - in the LMS by the same calls the sync makes (recorded as pending writes, so their echoes are
 *   known), answered to groups-service with `legacy_sync.completed.v1`. Paused courses get none.
 * Renamed cohorts update the link and the name cache. Progress and the differences are stored as
 * the run goes, a step of up to 500 links at a time.
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger(Reconciler.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly roster: CohortRoster,
    private readonly tracks: TrackRoster,
    private readonly teams: TeamRoster,
    private readonly teamsApi: LmsTeamsClient,
    private readonly groups: GroupMembershipsClient,
    private readonly lms: LmsCohortsClient,
    private readonly directory: CohortDirectory,
    private readonly pauses: LmsWritePauses,
    private readonly outbox: OutboxWriter,
    private readonly config: LegacySyncServiceConfig,
    private readonly lmsDatabase: LmsDatabase,
  ) {}

  async execute(run: RunRow, heartbeat: (done: number, total: number) => Promise<void>): Promise<RunSummary> {
    const dryRun = !!run.dry_run;
    const links = await this.linksInScope(run);
    const summary: RunSummary = {
      source: this.roster.source, courses: new Set(links.map((l) => l.courseKey)).size, groups_compared: 0, memberships_compared: 0, differences_found: 0, found_by_kind: {}, repaired_by_kind: {},
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
           ON DUPLICATE KEY UPDATE last_run_id = VALUES(last_run_id), last_success_at = VALUES(last_success_at)`, chunk.flatMap((c) => [c, run.id]));
      }
      const now = Date.now() / 1000;
      for (const c of courses) lastSuccess.set({ course_key: c }, now);
    }
    return summary;
  }

  /** Links in scope that name their legacy group (cohorts, tracks, teams, teamsets); a site-wide run takes the courses with recent activity first. */
  private async linksInScope(run: RunRow): Promise<LegacyLink[]> {
    const where = run.scope_type === 'group' ? 'AND l.group_id = ?' : run.scope_type === 'course' ? 'AND l.course_key = ?'
      : run.scope_type === 'teams' ? `AND l.legacy_type IN ('team', 'teamset')` : '';
    const rows: Array<Record<string, string>> = await this.dataSource.query(
      `SELECT l.group_id, l.course_key, l.legacy_type, l.legacy_id, l.legacy_name, l.group_name FROM legacy_link l LEFT JOIN course_reconciliation c ON c.course_key = l.course_key
       WHERE l.legacy_type IN ('cohort', 'enrollment_track', 'team', 'teamset') AND l.state = 'linked' AND l.legacy_id IS NOT NULL ${where}
       ORDER BY c.last_activity_at IS NULL, c.last_activity_at DESC, l.course_key, l.group_id`, run.scope_key === null ? [] : [run.scope_key]);
    return rows.map((r) => Object.assign(new LegacyLink(), {
      groupId: r.group_id, courseKey: r.course_key, legacyType: r.legacy_type, legacyId: r.legacy_id, legacyName: r.legacy_name, groupName: r.group_name, state: 'linked', lastError: null,
    }));
  }

  /**
   * Both sides of a step, read side by side. Repairs are dated `readAt`, taken before either read
   * starts: a change made after it, on either side, is newer than the repair, and groups-service
   * drops the repair.
   */
  private async read(links: LegacyLink[], summary: RunSummary): Promise<StepRead> {
    const wanted = new Map<string, Set<number>>();
    for (const l of links.filter((x) => x.legacyType === 'cohort')) {
      if (!wanted.has(l.courseKey)) wanted.set(l.courseKey, new Set());
      wanted.get(l.courseKey)!.add(Number(l.legacyId));
    }
    const trackCourses = [...new Set(links.filter((x) => x.legacyType === 'enrollment_track').map((x) => x.courseKey))];
    const readAt = await this.lmsDatabase.readAt();
    const timed = async <T>(phase: 'lms_read' | 'groups_read', work: Promise<T>) => {
      const t = Date.now();
      const out = await work;
      summary.timings_ms[phase] += Date.now() - t;
      return out;
    };
    const teamLinks = links.filter((x) => x.legacyType === 'team' || x.legacyType === 'teamset');
    const [[rosters, tracks, teams], { memberships, missing }] = await Promise.all([
      timed('lms_read', Promise.all([this.roster.read(wanted, readAt), this.tracks.read(trackCourses, readAt), this.teams.read(teamLinks, readAt)])),
      timed('groups_read', this.groups.of(links.map((l) => l.groupId))),
    ]);
    return { rosters: new Map(rosters.map((r) => [r.courseKey, r])), tracks: new Map(tracks.map((t) => [t.courseKey, t])), teams, memberships, missing };
  }

  private async reconcileStep(run: RunRow, links: LegacyLink[], { rosters, tracks, teams, memberships, missing }: StepRead, dryRun: boolean, summary: RunSummary): Promise<ReportedDifference[]> {
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
    let differences: Difference[] = [];
    const trackDifferences: Difference[] = [];
    const now = Date.now();
    for (const link of links) {
      if (link.legacyType === 'team' || link.legacyType === 'teamset') {
        // A team both ways (our writes may be in flight: the same rules as cohorts); a whole teamset read-only (the LMS wins).
        const members = teams.get(link.groupId)?.members;
        if (!members) {
          report(link, { side: 'lms', kind: `${link.legacyType}_not_found`, reason: `${link.legacyType} ${link.legacyId} is not in the LMS`, action: 'none', outcome: 'reported' });
        } else if (missing.has(link.groupId)) {
          report(link, { side: 'group', kind: 'group_not_found', reason: 'groups-service has no such group (deleted); the link stays until its deletion event', action: 'none', outcome: 'reported' });
        } else {
          const own = byGroup.get(link.groupId) ?? [];
          summary.groups_compared++;
          summary.memberships_compared += new Set([...members.keys(), ...own.filter((m) => m.active).map((m) => m.username.toLowerCase())]).size;
          trackDifferences.push(...findDrift({ groupId: link.groupId, courseKey: link.courseKey, cohortId: 0 }, members, own, now, this.config.RECONCILE_PENDING_GRACE_SECONDS * 1000, teams.get(link.groupId)!.readAt.getTime())
            .map((d) => ({ ...d, reason: d.reason.replace('in the cohort', `in the ${link.legacyType}`) })));
        }
        continue;
      }
      if (link.legacyType === 'enrollment_track') {
        const roster = tracks.get(link.courseKey)!;
        if (!roster.found) {
          report(link, { side: 'lms', kind: 'course_not_found', reason: `the LMS does not know course ${link.courseKey}`, action: 'none', outcome: 'reported' });
        } else if (missing.has(link.groupId)) {
          report(link, { side: 'group', kind: 'group_not_found', reason: 'groups-service has no such group (deleted); the link stays until its deletion event', action: 'none', outcome: 'reported' });
        } else {
          // Read-only: the learners whose active enrollment has the track's mode; the LMS always wins.
          const members = roster.tracks.get(link.legacyId!) ?? new Map<string, LmsMember>();
          const own = byGroup.get(link.groupId) ?? [];
          summary.groups_compared++;
          summary.memberships_compared += new Set([...members.keys(), ...own.filter((m) => m.active).map((m) => m.username.toLowerCase())]).size;
          trackDifferences.push(...findDrift({ groupId: link.groupId, courseKey: link.courseKey, cohortId: 0 }, members, own, now, this.config.RECONCILE_PENDING_GRACE_SECONDS * 1000, roster.readAt.getTime())
            .map((d) => ({ ...d, reason: d.reason.replace('in the cohort', `in the ${link.legacyId} track`) })));
        }
        continue;
      }
      const roster = rosters.get(link.courseKey)!;
      const cohort = roster.cohorts.get(Number(link.legacyId));
      if (!roster.found) {
        report(link, { side: 'lms', kind: 'course_not_found', reason: `the LMS does not know course ${link.courseKey}`, action: 'none', outcome: 'reported' });
        continue;
      }
      if (!cohort?.members) {
        report(link, { side: 'lms', kind: 'cohort_not_found', reason: `cohort ${link.legacyId} is not in the LMS`, action: 'none', outcome: 'reported' });
        continue;
      }
      if (missing.has(link.groupId)) {
        report(link, { side: 'group', kind: 'group_not_found', reason: 'groups-service has no such group (deleted); the link stays until its deletion event', action: 'none', outcome: 'reported' });
        continue;
      }
      if (cohort.name !== link.legacyName) {
        report(link, { side: 'lms', kind: 'cohort_renamed', reason: `renamed in the LMS from "${link.legacyName ?? '?'}" to "${cohort.name}"`, action: 'update_link', outcome: dryRun ? 'dry_run' : 'repaired' });
        if (!dryRun) await this.dataSource.query('UPDATE legacy_link SET legacy_name = ?, updated_at = NOW(6) WHERE group_id = ?', [cohort.name, link.groupId]);
      }
      const own = byGroup.get(link.groupId) ?? [];
      summary.groups_compared++;
      summary.memberships_compared += new Set([...cohort.members.keys(), ...own.filter((m) => m.active).map((m) => m.username.toLowerCase())]).size;
      differences.push(...findDrift({ groupId: link.groupId, courseKey: link.courseKey, cohortId: Number(link.legacyId) }, cohort.members, own, now, this.config.RECONCILE_PENDING_GRACE_SECONDS * 1000, roster.readAt.getTime()));
    }
    // Every course read here refreshes its name → id cache (a rename has no event).
    for (const roster of rosters.values()) {
      if (roster.found) this.directory.replace(roster.courseKey, [...roster.cohorts].map(([id, c]) => ({ id, name: c.name })));
    }
    // A learner has one cohort per course; tracks are only exclusive through the mode, so each of their differences stands.
    differences = [...impliedByMoves(differences, (course, username) => rosters.get(course)?.cohortOf.get(username.toLowerCase())), ...trackDifferences];
    lap('compare');
    // Every read of a step starts at the same time.
    const readAt = new Map([...[...rosters.values()].map((r) => [r.courseKey, r.readAt] as const), ...[...tracks.values()].map((t) => [t.courseKey, t.readAt] as const),
      ...links.filter((l) => teams.has(l.groupId)).map((l) => [l.courseKey, teams.get(l.groupId)!.readAt] as const)]);
    const outcomes = dryRun ? new Map<Difference, string>() : await this.repair(run, differences, readAt, new Map(links.map((l) => [l.groupId, l])));
    lap('repair');
    for (const d of differences) {
      reported.push({
        course_key: d.courseKey, group_id: d.groupId, user_id: d.userId, username: d.username, side: d.side, kind: d.kind, reason: d.reason, action: d.action,
        outcome: d.action === 'none' ? 'left_alone' : dryRun ? 'dry_run' : outcomes.get(d) ?? 'repaired',
      });
    }
    return reported;
  }

  /** Carries out the repairs; answers the outcome of each difference that did not end `repaired`. */
  private async repair(run: RunRow, differences: Difference[], readAt: Map<string, Date>, links: Map<string, LegacyLink>): Promise<Map<Difference, string>> {
    const outcomes = new Map<Difference, string>();
    // Group side: the REST path lists no user ids; ask the accounts API for the learners to add.
    const toGroup = differences.filter((d) => d.action === 'add_to_group' || d.action === 'remove_from_group');
    const unnamed = toGroup.filter((d) => d.userId === null).map((d) => d.username);
    if (unnamed.length) {
      const ids = await this.lms.userIds([...new Set(unnamed)]);
      for (const d of toGroup) if (d.userId === null) d.userId = ids.get(d.username.toLowerCase()) ?? null;
    }
    const observations: LegacyMembershipObservedData[] = [];
    for (const d of toGroup) {
      if (d.userId === null) {
        outcomes.set(d, 'failed: the LMS has no account with this username');
        continue;
      }
      observations.push({
        observation: {
          group_id: d.groupId, course_key: d.courseKey, user_id: d.userId, username: d.username, action: d.action === 'add_to_group' ? 'added' : 'removed',
          observed_at: readAt.get(d.courseKey)!.toISOString(), source_event_id: `reconciliation:${run.id}`, echo_of_change_at: null,
          // Importing a linked cohort's members is the LMS's own doing (origin `legacy`), not a repair.
          reconciliation_run_id: run.trigger_kind === 'link' ? null : run.id,
        },
      });
    }

    // LMS side: the same calls the sync makes, unless writes to the LMS are paused for the course.
    const results: Array<LegacySyncCompletedData> = [];
    const lmsWork = differences.filter((d) => d.action === 'add_in_lms' || d.action === 'remove_in_lms');
    const calls: Array<() => Promise<void>> = [];
    const adds = new Map<string, Difference[]>();
    for (const d of lmsWork) {
      if (await this.pauses.isPaused(d.courseKey)) {
        outcomes.set(d, 'deferred: writes to the LMS are paused');
        continue;
      }
      const link = links.get(d.groupId)!;
      if (link.legacyType === 'team') {
        calls.push(() => this.writeTeam(run, d, link, results));
        continue;
      }
      if (d.action === 'remove_in_lms') {
        calls.push(async () => {
          try {
            await this.lms.removeUser(d.courseKey, Number(link.legacyId), d.username);
          } catch (error) {
            if (!(error instanceof LmsRejectedError) || error.errorCode !== 'user-not-in-cohort') throw error;
          }
          results.push(syncResult(d, link, 'synced', null, true));
        });
        continue;
      }
      const k = `${d.courseKey}|${link.legacyId}`;
      if (!adds.has(k)) adds.set(k, []);
      adds.get(k)!.push(d);
    }
    for (const group of adds.values()) {
      for (let i = 0; i < group.length; i += this.config.LMS_COHORT_ADD_MAX_USERS) {
        const chunk = group.slice(i, i + this.config.LMS_COHORT_ADD_MAX_USERS);
        calls.push(() => this.addInLms(run, chunk, links.get(chunk[0].groupId)!, results));
      }
    }
    const failed = await runLimited(calls, this.config.LMS_CONCURRENCY);
    if (failed.length) {
      // The calls that failed leave their differences for the next run.
      const message = (failed[0] as Error).message;
      for (const d of lmsWork) if (!outcomes.has(d) && !results.some((r) => r.sync_result.group_id === d.groupId && r.sync_result.user_id === d.userId)) outcomes.set(d, `failed: ${message}`.slice(0, 255));
    }
    for (const d of differences.filter((x) => x.action === 'confirm_in_group')) results.push(syncResult(d, links.get(d.groupId)!, 'synced', null, true));
    for (const r of results) {
      if (r.sync_result.status === 'rejected') {
        const d = differences.find((x) => x.groupId === r.sync_result.group_id && x.userId === r.sync_result.user_id);
        if (d) outcomes.set(d, `rejected by the LMS: ${r.sync_result.error}`.slice(0, 255));
      }
    }
    if (observations.length || results.length) {
      await this.dataSource.transaction(async (manager) => {
        const context = { correlationId: run.id };
        await this.outbox.appendMany(manager, EventType.LegacyMembershipObserved, observations, context);
        await this.outbox.appendMany(manager, EventType.LegacySyncCompleted, results, context);
      });
    }
    return outcomes;
  }

  /** One learner into or out of a team (the teams API has no bulk form); an add is recorded as a pending write first. */
  private async writeTeam(run: RunRow, d: Difference, link: LegacyLink, results: LegacySyncCompletedData[]): Promise<void> {
    const pending = d.action === 'add_in_lms' ? await this.dataSource.getRepository(PendingLmsWrite).insert({
      groupId: d.groupId, courseKey: d.courseKey, legacyId: link.legacyId!, userId: d.userId!, action: 'added' as const,
      sourceEventId: `reconciliation:${run.id}`, changeOccurredAt: d.changedAt, confirmedAt: null,
    }) : null;
    const echo = d.action === 'add_in_lms' && this.config.LMS_EMITS_TEAM_EVENTS;
    try {
      if (d.action === 'add_in_lms') await this.teamsApi.addMember(link.legacyId!, d.username);
      else await this.teamsApi.removeMember(link.legacyId!, d.username);
      results.push(syncResult(d, link, 'synced', null, echo));
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      if (d.action === 'remove_in_lms' && error.status === 404) results.push(syncResult(d, link, 'synced', null, false));
      else results.push(syncResult(d, link, 'rejected', teamRefusal(error), false));
    } finally {
      if (pending && !echo) await this.dataSource.getRepository(PendingLmsWrite).delete(pending.identifiers.map((x) => String(x.id)));
    }
  }

  /** One cohort add for many learners, recorded as pending writes first so that their echoes are known. */
  private async addInLms(run: RunRow, chunk: Difference[], link: LegacyLink, results: LegacySyncCompletedData[]): Promise<void> {
    const inserted = await this.dataSource.getRepository(PendingLmsWrite).insert(chunk.map((d) => ({
      groupId: d.groupId, courseKey: d.courseKey, legacyId: link.legacyId!, userId: d.userId!, action: 'added' as const,
      sourceEventId: `reconciliation:${run.id}`, changeOccurredAt: d.changedAt, confirmedAt: null,
    })));
    const pendingIds = inserted.identifiers.map((x) => String(x.id));
    try {
      const res = await this.lms.addUsers(link.courseKey, Number(link.legacyId), chunk.map((d) => d.username));
      const moved = new Set([...res.added, ...res.changed].map((u) => u.username.toLowerCase()));
      const refused = new Set([...res.unknown, ...res.invalid, ...res.preassigned].map((u) => u.toLowerCase()));
      const unconfirmable = chunk.flatMap((d, i) => (moved.has(d.username.toLowerCase()) ? [] : [pendingIds[i]]));
      if (unconfirmable.length) await this.dataSource.getRepository(PendingLmsWrite).delete(unconfirmable);
      for (const d of chunk) {
        const name = d.username.toLowerCase();
        results.push(refused.has(name)
          ? syncResult(d, link, 'rejected', `LMS does not know user "${d.username}"`, false)
          : syncResult(d, link, 'synced', null, moved.has(name)));
      }
    } catch (error) {
      await this.dataSource.getRepository(PendingLmsWrite).delete(pendingIds);
      if (!(error instanceof LmsRejectedError)) throw error;
      for (const d of chunk) results.push(syncResult(d, link, 'rejected', error.message, false));
    }
  }

  private async store(runId: string, reported: ReportedDifference[]): Promise<void> {
    for (let i = 0; i < reported.length; i += 1000) {
      const chunk = reported.slice(i, i + 1000);
      await this.dataSource.query(
        `INSERT INTO reconciliation_difference (run_id, course_key, group_id, user_id, username, side, kind, reason, action, outcome) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((d) => [runId, d.course_key, d.group_id, d.user_id, d.username, d.side, d.kind, d.reason.slice(0, 500), d.action, d.outcome.slice(0, 255)]));
    }
  }
}

function syncResult(d: Difference, link: LegacyLink, status: 'synced' | 'rejected', error: string | null, echoExpected: boolean): LegacySyncCompletedData {
  return {
    sync_result: {
      group_id: d.groupId, user_id: d.userId, status, error, legacy_type: link.legacyType === 'team' ? 'team' : 'cohort', legacy_id: link.legacyId,
      occurred_at: toCeTime(new Date()), change_occurred_at: d.changedAt, lms_echo_expected: echoExpected,
    },
  };
}

interface StepRead {
  rosters: Map<string, CourseRoster>; tracks: Map<string, TrackRosterOfCourse>; teams: Map<string, TeamRosterOfLink>; memberships: GroupMembership[]; missing: Set<string>;
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
