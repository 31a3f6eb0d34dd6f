import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { LmsUnavailableError } from '@groups-sync/lms-client';
import { isUnavailable } from '@groups-sync/observability';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { Reconciler, RunRow, RunSummary, runDuration } from './reconciler';

export type RunScope =
  { scope_type: 'group' | 'course'; scope_key: string } | { scope_type: 'all' | 'teams'; scope_key: null };
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A run whose instance stopped heart-beating this long ago is taken over by another. */
const ABANDONED_AFTER_MS = 2 * 60 * 1000;
/** Runs again after an LMS error that is not an outage (a plain 500), before the run fails. */
const LMS_ERROR_RETRIES = 3;
const DIFFERENCES_PAGE_MAX = 10_000;

/**
 * Reconciliation runs as a queue in the database: requested by the API, the scheduler or a new
 * link, claimed by one instance at a time (a run abandoned by a stopped instance is taken over),
 * each stored with its report.
 */
@Injectable()
export class ReconciliationRuns implements OnApplicationShutdown {
  private readonly logger = new Logger(ReconciliationRuns.name);
  private working?: Promise<void>;
  private stopping = false;
  /**
   * Outcomes not yet written: a run an outage interrupted goes back to the queue at the next poll
   * (not at once, which would spin while the LMS is down), and one whose failure could not be
   * recorded (the database down) is recorded then. Neither waits ABANDONED_AFTER_MS.
   */
  private readonly unsaved = new Map<string, { status: 'queued' | 'failed'; error: string }>();
  /** LMS errors each run met, for LMS_ERROR_RETRIES. */
  private readonly lmsErrors = new Map<string, number>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly reconciler: Reconciler,
    private readonly config: LegacySyncServiceConfig,
    private readonly kinds: LegacyKinds,
  ) {}

  /** `manager`: inside the caller's transaction (the run exists only if it commits). */
  async request(
    scope: RunScope,
    options: { dryRun: boolean; trigger: RunRow['trigger_kind']; requestedBy: string },
    manager: EntityManager = this.dataSource.manager,
  ): Promise<string> {
    const id = randomUUID();
    await manager.query(
      `INSERT INTO reconciliation_run (id, scope_type, scope_key, dry_run, trigger_kind, requested_by, status) VALUES (?, ?, ?, ?, ?, ?, 'queued')`,
      [
        id,
        scope.scope_type,
        scope.scope_key,
        options.dryRun ? 1 : 0,
        options.trigger,
        options.requestedBy.slice(0, 255),
      ],
    );
    setTimeout(() => void this.work(), 50);
    return id;
  }

  /** The run with its report; `null` when there is no such run. */
  async get(id: string, page: { offset: number; limit: number } = { offset: 0, limit: 1000 }) {
    const [run] = await this.dataSource.query('SELECT * FROM reconciliation_run WHERE id = ?', [id]);
    if (!run) return null;
    const limit = Math.min(page.limit, DIFFERENCES_PAGE_MAX);
    const differences = await this.dataSource.query(
      `SELECT course_key, group_id, user_id, username, side, kind, reason, action, outcome FROM reconciliation_difference
       WHERE run_id = ? ORDER BY id LIMIT ? OFFSET ?`,
      [id, limit, page.offset],
    );
    const summary = run.summary ? JSON.parse(run.summary) : null;
    return {
      id: run.id,
      status: run.status as RunStatus,
      scope: { type: run.scope_type, key: run.scope_key },
      dry_run: !!run.dry_run,
      trigger: run.trigger_kind,
      requested_by: run.requested_by,
      created_at: run.created_at,
      started_at: run.started_at,
      finished_at: run.finished_at,
      progress: { done: run.progress_done, total: run.progress_total },
      error: run.error,
      report: summary && {
        ...summary,
        differences: differences.map((d: Record<string, unknown>) => ({
          ...d,
          user_id: d.user_id === null ? null : Number(d.user_id),
        })),
        differences_offset: page.offset,
      },
    };
  }

  /** Latest runs first. */
  async list(limit = 20) {
    const runs: Array<Record<string, unknown> & { summary: string | null }> = await this.dataSource.query(
      `SELECT id, status, scope_type, scope_key, dry_run, trigger_kind, requested_by, created_at, finished_at, summary
       FROM reconciliation_run ORDER BY created_at DESC LIMIT ?`,
      [limit],
    );
    // What a drift chart needs of each run: how much it found and how much it repaired.
    return runs.map(({ summary, ...run }) => {
      const report = summary ? (JSON.parse(summary) as Partial<RunSummary>) : null;
      return {
        ...run,
        differences_found: report?.differences_found ?? null,
        repaired: report ? Object.values(report.repaired_by_kind ?? {}).reduce((n, v) => n + v, 0) : null,
      };
    });
  }

  /** Last successful reconciliation per course. */
  async lastPerCourse(limit = 1000) {
    return this.dataSource.query(
      'SELECT course_key, last_run_id, last_success_at, last_activity_at FROM course_reconciliation ORDER BY last_success_at IS NULL, last_success_at DESC LIMIT ?',
      [limit],
    );
  }

  /**
   * LMS events were lost before they were read (a Redis stream trimmed or deleted): a site-wide run
   * at once, unless one for a gap is still queued.
   */
  async afterStreamGap(stream: string): Promise<void> {
    if (this.stopping) return;
    const result = await this.dataSource.query(
      `INSERT INTO reconciliation_run (id, scope_type, scope_key, dry_run, trigger_kind, requested_by, status)
       SELECT ?, 'all', NULL, 0, 'stream_gap', ?, 'queued' FROM DUAL
       WHERE NOT EXISTS (SELECT 1 FROM reconciliation_run WHERE trigger_kind = 'stream_gap' AND status = 'queued')`,
      [randomUUID(), `gap in ${stream}`.slice(0, 255)],
    );
    if (result.affectedRows) setTimeout(() => void this.work(), 50);
  }

  /** The site-wide run, every RECONCILE_EVERY_MINUTES, unless one was scheduled that recently. */
  @Interval(60_000)
  async schedule(): Promise<void> {
    const every = this.config.RECONCILE_EVERY_MINUTES;
    if (!every || this.stopping) return;
    const result = await this.dataSource.query(
      `INSERT INTO reconciliation_run (id, scope_type, scope_key, dry_run, trigger_kind, requested_by, status)
       SELECT ?, 'all', NULL, 0, 'schedule', 'legacy-sync-service', 'queued' FROM DUAL
       WHERE NOT EXISTS (SELECT 1 FROM reconciliation_run WHERE trigger_kind = 'schedule' AND scope_type = 'all' AND created_at > NOW(6) - INTERVAL ? MINUTE)`,
      [randomUUID(), every],
    );
    if (result.affectedRows) void this.work();
  }

  /**
   * The team-linked groups, every RECONCILE_TEAMS_EVERY_SECONDS: the LMS emits no team events, so
   * this is how a change made in the LMS's teams reaches the groups. Queued only when team links
   * exist and no such run is queued or was scheduled that recently.
   */
  @Interval(5_000)
  async scheduleTeams(): Promise<void> {
    const every = this.config.RECONCILE_TEAMS_EVERY_SECONDS;
    if (!every || this.stopping) return;
    const result = await this.dataSource.query(
      `INSERT INTO reconciliation_run (id, scope_type, scope_key, dry_run, trigger_kind, requested_by, status)
       SELECT ?, 'teams', NULL, 0, 'schedule', 'legacy-sync-service', 'queued' FROM DUAL
       WHERE EXISTS (SELECT 1 FROM legacy_link WHERE legacy_type IN (?) AND state = 'linked')
         AND NOT EXISTS (SELECT 1 FROM reconciliation_run WHERE scope_type = 'teams' AND (status IN ('queued', 'running') OR created_at > NOW(6) - INTERVAL ? SECOND))`,
      [randomUUID(), this.kinds.scheduledLinkTypes, every],
    );
    if (result.affectedRows) void this.work();
  }

  /**
   * Claims and executes queued runs, one at a time per instance. Never rejects (callers start it
   * without waiting): a database that fails between runs is logged, and the next poll tries again.
   */
  @Interval(5_000)
  work(): Promise<void> {
    this.working ??= this.drain()
      .catch((error: Error) => this.logger.error(`reconciliation worker stopped until its next poll: ${error.message}`))
      .finally(() => (this.working = undefined));
    return this.working;
  }

  private async drain(): Promise<void> {
    for (const [id, outcome] of this.unsaved) {
      await this.record(id, outcome.status, outcome.error);
      this.unsaved.delete(id);
    }
    for (let run = await this.claim(); run && !this.stopping; run = await this.claim()) {
      const end = runDuration.startTimer({ scope: run.scope_type });
      try {
        const summary = await this.reconciler.execute(run, async (done, total) => {
          // Stopping: give the run back between two steps; this or another instance resumes it.
          if (this.stopping) throw new RunInterrupted();
          await this.dataSource.query(
            'UPDATE reconciliation_run SET progress_done = ?, progress_total = ?, heartbeat_at = NOW(6) WHERE id = ?',
            [done, total, run.id],
          );
        });
        await this.dataSource.query(
          `UPDATE reconciliation_run SET status = 'succeeded', summary = ?, finished_at = NOW(6) WHERE id = ?`,
          [JSON.stringify(summary), run.id],
        );
        end({ status: 'succeeded' });
        this.lmsErrors.delete(run.id);
        this.logger.log(
          `reconciliation ${run.id} (${run.scope_type}${run.scope_key ? ` ${run.scope_key}` : ''}${run.dry_run ? ', dry run' : ''}): ${summary.differences_found} differences in ${summary.groups_compared} groups`,
        );
      } catch (error) {
        if (error instanceof RunInterrupted) {
          await this.dataSource
            .query(`UPDATE reconciliation_run SET status = 'queued' WHERE id = ?`, [run.id])
            .catch(() => undefined);
          return;
        }
        const message = (error as Error).message;
        const lmsErrors = (this.lmsErrors.get(run.id) ?? 0) + 1;
        if (isUnavailable(error) || (error instanceof LmsUnavailableError && lmsErrors <= LMS_ERROR_RETRIES)) {
          // The database, the LMS or groups-service is down (or the LMS failed a read): not the run's
          // fault. It starts again from the beginning at the next poll; its `error` says why.
          if (!isUnavailable(error)) this.lmsErrors.set(run.id, lmsErrors);
          end({ status: 'interrupted' });
          this.logger.warn(`reconciliation ${run.id} interrupted (${message}); it runs again at the next poll`);
          this.unsaved.set(run.id, { status: 'queued', error: `interrupted, queued again: ${message}` });
          return;
        }
        end({ status: 'failed' });
        this.lmsErrors.delete(run.id);
        this.logger.error(`reconciliation ${run.id} failed: ${message}`);
        await this.record(run.id, 'failed', message).catch((e: Error) => {
          this.logger.warn(`reconciliation ${run.id} not marked failed yet (${e.message}): at the next poll`);
          this.unsaved.set(run.id, { status: 'failed', error: message });
        });
      }
    }
  }

  private async record(id: string, status: 'queued' | 'failed', error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE reconciliation_run SET status = ?, error = ?, finished_at = IF(? = 'failed', NOW(6), finished_at)
       WHERE id = ? AND status = 'running'`,
      [status, error.slice(0, 2000), status, id],
    );
  }

  private async claim(): Promise<RunRow | null> {
    for (;;) {
      const abandoned = new Date(Date.now() - ABANDONED_AFTER_MS);
      const [candidate] = await this.dataSource.query(
        `SELECT id FROM reconciliation_run WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < ?) ORDER BY created_at LIMIT 1`,
        [abandoned],
      );
      if (!candidate) return null;
      const claimed = await this.dataSource.query(
        `UPDATE reconciliation_run SET status = 'running', started_at = COALESCE(started_at, NOW(6)), heartbeat_at = NOW(6)
         WHERE id = ? AND (status = 'queued' OR (status = 'running' AND heartbeat_at < ?))`,
        [candidate.id, abandoned],
      );
      if (!claimed.affectedRows) continue;
      // A run taken over starts again from the beginning: what an earlier attempt stored goes.
      await this.dataSource.query('DELETE FROM reconciliation_difference WHERE run_id = ?', [candidate.id]);
      return (await this.dataSource.query('SELECT * FROM reconciliation_run WHERE id = ?', [candidate.id]))[0];
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.working;
  }
}

class RunInterrupted extends Error {}
