import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import {
  DecodedEvent,
  EvaluationFailedData,
  EvaluationSnapshotData,
  EvaluationUserResultData,
  EventType,
  toCeTime,
} from '@groups-sync/contracts';
import { Inbox, OutboxWriter } from '@groups-sync/messaging';
import { appendAudit } from '../audit/audit.writer';
import { ChangeContext } from '../audit/change-context';
import { Criterion } from '../groups/criterion.entity';
import { UserGroup } from '../groups/user-group.entity';
import { MembershipWriter } from '../memberships/membership-writer';
import { MembershipRepository } from '../memberships/membership.repository';
import { GroupsServiceConfig } from '../groups-service.config';
import { EvaluationChunkRepository } from './evaluation-chunk.repository';

export type ChunkOutcome = 'waiting' | 'applied' | 'discarded';

/** Where a run's apply stands: chunk by chunk, the user ids decided so far are those up to `above`. */
interface RunProgress {
  added: number;
  removed: number;
  memberCount: number;
  above: number;
}

/**
 * A run applied as its chunks arrive (ADR 0010): one transaction, opened at chunk 0 with the
 * group's lock, held across the run's messages, committed by its last chunk with that message's
 * inbox row. Every chunk is staged as well, so a run closed half-way is applied from its staged
 * chunks when its last one comes, as if it had never been open.
 */
interface OpenRun {
  runId: string;
  runner: QueryRunner;
  group: UserGroup;
  locked: Map<string, UserGroup>;
  progress: RunProgress;
  /** The chunk it applies next. */
  next: number;
  openedAt: number;
  idle?: NodeJS.Timeout;
}

/**
 * Collects an evaluation run's chunks and, when the last one is in, applies the whole member set
 * to the dynamic group in one transaction: joins and leaves with origin `criteria`, the group's
 * last_refreshed_at, a `refresh_completed` audit row and event. A run older than the group's last
 * applied one, or for a group that is no longer dynamic, enabled and unfrozen, is discarded with
 * the reason in the history. While the evaluator is still sending, the chunks already in are
 * applied in the run's open transaction (`OpenRun`), so the apply overlaps the evaluation.
 */
@Injectable()
export class EvaluationRuns implements OnApplicationShutdown {
  private readonly logger = new Logger(EvaluationRuns.name);
  /**
   * At most one, whichever partition its chunks come from: the consumer's other partitions'
   * runs apply the staged way meanwhile.
   */
  private open: OpenRun | null = null;
  /** Open runs are used by the consumer and closed by a timer: one step at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly writer: MembershipWriter,
    private readonly memberships: MembershipRepository,
    private readonly outbox: OutboxWriter,
    private readonly chunks: EvaluationChunkRepository,
    private readonly config: GroupsServiceConfig,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.closeOpenRun('the service is stopping');
  }

  /**
   * Closes the open run if it holds this group locked (itself or an exclusive sibling): a message
   * about the group would otherwise wait for locks that only this consumer's next messages release.
   * In the queue, so no run opens between the check and the close.
   */
  closeOpenRunHolding(groupId: string, why: string): Promise<void> {
    return this.serial(async () => {
      if (this.open?.locked.has(groupId)) await this.rollback(why);
    });
  }

  /**
   * Applies chunk k (not a run's last) in its run's open transaction, opening one at chunk 0.
   * Anything unexpected closes the run instead: its last chunk then applies the staged chunks.
   */
  advance(data: EvaluationSnapshotData, ctx: ChangeContext): Promise<void> {
    return this.serial(async () => {
      const s = data.snapshot;
      // Off: never open a run; every run applies from its staged chunks, as a closed one does (ADR 0013).
      if (!this.config.EVALUATION_APPLY_AS_CHUNKS_ARRIVE) return;
      if (this.open && (this.open.runId !== s.run_id || this.open.next !== s.chunk)) {
        // Another run's chunk between this one's: the open run keeps its place unless this one is its.
        if (this.open.runId !== s.run_id) return;
        await this.rollback(`chunk ${s.chunk} came when chunk ${this.open.next} was expected`);
      }
      if (!this.open && (s.chunk !== 0 || !(await this.begin(s, ctx)))) return;
      const open = this.open!;
      if (Date.now() - open.openedAt > this.config.EVALUATION_OPEN_RUN_MAX_MS)
        return void (await this.rollback(`open for more than ${this.config.EVALUATION_OPEN_RUN_MAX_MS} ms`));
      try {
        await this.applyRange(
          open.runner.manager,
          open.group,
          s.members,
          s.chunk,
          false,
          open.progress,
          this.bulk(ctx),
          open.locked,
        );
        open.next++;
        this.keepOpen(open);
      } catch (error) {
        await this.rollback(`chunk ${s.chunk} could not be applied: ${(error as Error).message}`);
      }
    });
  }

  /**
   * A run's last chunk, when its run is open at that chunk: applied with its inbox row, and the
   * whole run committed. False when no open run can take it (the caller applies it the staged way).
   */
  finish(inbox: Inbox, event: DecodedEvent<EventType.EvaluationSnapshot>, ctx: ChangeContext): Promise<boolean> {
    return this.serial(async () => {
      const s = event.data.snapshot;
      const open = this.open;
      if (!open) return false;
      if (open.runId !== s.run_id || open.next !== s.chunk) {
        if (open.runId === s.run_id || open.locked.has(s.group_id))
          await this.rollback(
            `the last chunk ${s.chunk} of run ${s.run_id} came when chunk ${open.next} of run ${open.runId} was expected`,
          );
        return false;
      }
      try {
        // A last chunk seen already would have made the run inapplicable when it was opened; never commit it twice.
        if (
          (await inbox.processIn(open.runner.manager, event, (manager) =>
            this.receive(manager, event.data, ctx, open).then(() => undefined),
          )) === 'duplicate'
        ) {
          await this.rollback('its last chunk was applied already');
          return true;
        }
        await open.runner.commitTransaction();
        this.forget(open);
        await open.runner.release();
        return true;
      } catch (error) {
        await this.rollback(`its last chunk could not be applied: ${(error as Error).message}`);
        return false;
      }
    });
  }

  /** The open run, if any: which, for which group, and the chunk it waits for. */
  openRun(): { runId: string; groupId: string; next: number } | null {
    return this.open && { runId: this.open.runId, groupId: this.open.group.id, next: this.open.next };
  }

  /**
   * Closes the open run, if any: its last chunk will apply the staged chunks. Retirement does so
   * first: it scrubs staged chunks, and a user joined in the open transaction would come out of
   * it under the name retirement replaces.
   */
  closeOpenRun(why: string): Promise<void> {
    return this.serial(() => this.rollback(why));
  }

  /**
   * Stages a chunk and, when the run's chunks are all in, applies the run; or, with `open`, applies
   * the last chunk in the run's open transaction, where the others are applied already.
   */
  async receive(
    manager: EntityManager,
    data: EvaluationSnapshotData,
    ctx: ChangeContext,
    open?: OpenRun,
  ): Promise<ChunkOutcome> {
    const s = data.snapshot;
    const evaluatedAt = new Date(s.evaluated_at);
    let chunks = s.chunks;
    if (!open) {
      await this.chunks.stage(manager, {
        runId: s.run_id,
        chunk: s.chunk,
        groupId: s.group_id,
        chunks: s.chunks,
        members: s.members,
        evaluatedAt,
        receivedAt: ctx.at,
      });
      // Chunks sent before the evaluator knew the count carry 0; the last one carries it (staged
      // already when a chunk before it comes late).
      const staged = await this.chunks.staged(manager, s.run_id);
      chunks = s.chunks || staged.chunks;
      if (!chunks || staged.received < chunks) return 'waiting';
    }
    // Only a run's last chunk (or its first, to open it) reads and locks the group, with its
    // exclusive siblings, in the writer's lock order, so that two runs never apply side by side.
    const { group, locked } = open ?? (await this.lockGroup(manager, s.group_id));
    const refresh = { group_id: s.group_id, run_id: s.run_id, trigger: s.trigger, requested_by: s.requested_by };
    const reason = this.notApplicable(group, evaluatedAt);
    const started = Date.now();
    const bulk = this.bulk(ctx);
    // An open run has applied every chunk but this one; a failure here closes it (the caller applies
    // the staged chunks). Otherwise a savepoint: a run found malformed halfway (out of order, a
    // chunk missing) is undone and discarded, not half applied.
    const applied = reason
      ? null
      : open
        ? await this.applyRange(manager, group!, s.members, s.chunk, true, open.progress, bulk, locked).then(
            () => open.progress,
          )
        : await manager
            .transaction((run) => this.applySnapshot(run, group!, s.run_id, chunks, bulk, locked))
            .catch((error) => {
              if (error instanceof MalformedRunError) return error;
              throw error;
            });
    // This run and any older, unfinished ones of the same group are done with.
    await this.chunks.deleteRunAndOlder(manager, s.run_id, s.group_id, evaluatedAt);
    if (!applied || applied instanceof MalformedRunError) {
      const why = reason ?? (applied as MalformedRunError).message;
      this.logger.log(`evaluation run ${s.run_id} for group ${s.group_id} discarded: ${why}`);
      if (group) await appendAudit(manager, ctx, group.id, 'refresh_discarded', { ...refresh, reason: why });
      return 'discarded';
    }
    const { added, removed, memberCount } = applied;
    this.logger.log(
      `evaluation run ${s.run_id} applied to group ${s.group_id}${open ? ' as its chunks arrived' : ''}: +${added} -${removed}, ${memberCount} members, ` +
        `${open ? 'its last chunk ' : ''}in ${Date.now() - started} ms (${Date.now() - evaluatedAt.getTime()} ms after the evaluation)`,
    );
    await manager.update(
      UserGroup,
      { id: group!.id },
      { lastRefreshedAt: evaluatedAt, evaluationError: null, evaluationFailedAt: null },
    );
    await appendAudit(manager, ctx, group!.id, 'refresh_completed', {
      ...refresh,
      added,
      removed,
      member_count: memberCount,
    });
    await this.outbox.append(
      manager,
      EventType.UserGroupRefreshCompleted,
      {
        refresh: { ...refresh, added, removed, member_count: memberCount, completed_at: toCeTime(ctx.at) },
      },
      ctx,
    );
    return 'applied';
  }

  private async lockGroup(
    manager: EntityManager,
    groupId: string,
  ): Promise<{ group: UserGroup | null; locked: Map<string, UserGroup> }> {
    const found = await manager.findOne(UserGroup, { where: { id: groupId } });
    if (found) found.criteria = await manager.find(Criterion, { where: { groupId: found.id } });
    const locked = found ? await this.writer.lockGroups(manager, [found]) : new Map<string, UserGroup>();
    return { group: locked.get(groupId) ?? found, locked };
  }

  /** Why a run evaluated at `evaluatedAt` cannot apply to the group, or null. */
  private notApplicable(group: UserGroup | null, evaluatedAt: Date): string | null {
    return !group || group.deletedAt
      ? 'the group no longer exists'
      : group.kind !== 'dynamic'
        ? `the group is ${group.kind}, not dynamic`
        : !group.enabled
          ? 'the group is disabled'
          : group.frozen
            ? 'the group is frozen'
            : group.lastRefreshedAt && group.lastRefreshedAt.getTime() >= evaluatedAt.getTime()
              ? 'a newer evaluation was applied already'
              : null;
  }

  /** A refresh's membership events are packed (ADR 0009). */
  private bulk(ctx: ChangeContext): ChangeContext {
    return { ...ctx, packEvents: this.config.OUTBOX_PACK_EVENTS };
  }

  /** Opens a run at its chunk 0: its transaction, with the group's lock; none if the run cannot apply. */
  private async begin(s: EvaluationSnapshotData['snapshot'], ctx: ChangeContext): Promise<boolean> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction('READ COMMITTED');
      const { group, locked } = await this.lockGroup(runner.manager, s.group_id);
      if (this.notApplicable(group, new Date(s.evaluated_at))) {
        // Its last chunk, applied the staged way, records why in the history.
        await runner.rollbackTransaction();
        await runner.release();
        return false;
      }
      this.open = {
        runId: s.run_id,
        runner,
        group: group!,
        locked,
        progress: { added: 0, removed: 0, memberCount: 0, above: 0 },
        next: 0,
        openedAt: Date.now(),
      };
      this.logger.debug(
        `evaluation run ${s.run_id} for group ${s.group_id} open (${ctx.causationId ?? 'no message id'})`,
      );
      return true;
    } catch (error) {
      this.logger.warn(
        `evaluation run ${s.run_id} not opened, it will apply from its staged chunks: ${(error as Error).message}`,
      );
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      await runner.release().catch(() => undefined);
      return false;
    }
  }

  /**
   * A run whose next chunk does not come within the idle time, or that has been open for the
   * longest time allowed, is closed: its locks are not held for a stopped evaluator or a moved
   * partition, nor past other writers' lock wait.
   */
  private keepOpen(open: OpenRun): void {
    clearTimeout(open.idle);
    const idle = this.config.EVALUATION_OPEN_RUN_IDLE_MS;
    const left = open.openedAt + this.config.EVALUATION_OPEN_RUN_MAX_MS - Date.now();
    open.idle = setTimeout(
      () => {
        // A timer has no caller to reject to: a failure here is logged, the run applies from its staged chunks.
        this.serial(async () => {
          if (this.open === open)
            await this.rollback(
              left < idle
                ? `open for more than ${this.config.EVALUATION_OPEN_RUN_MAX_MS} ms`
                : `no chunk came for ${idle} ms`,
            );
        }).catch((error: Error) => this.logger.warn(`closing idle evaluation run ${open.runId}: ${error.message}`));
      },
      Math.max(0, Math.min(idle, left)),
    );
    open.idle.unref();
  }

  private forget(open: OpenRun): void {
    clearTimeout(open.idle);
    if (this.open === open) this.open = null;
  }

  private async rollback(why: string): Promise<void> {
    const open = this.open;
    if (!open) return;
    this.forget(open);
    this.logger.log(
      `evaluation run ${open.runId} for group ${open.group.id} closed after ${open.next} chunks, it will apply from its staged chunks: ${why}`,
    );
    await open.runner
      .rollbackTransaction()
      .catch((error) => this.logger.warn(`rollback of run ${open.runId}: ${(error as Error).message}`));
    await open.runner.release().catch(() => undefined);
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const result = this.queue.then(step);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * One user re-evaluated after an LMS event: joins or leaves the group (origin `criteria`), unless
   * a full refresh or a change of the membership newer than the evaluation covered it already.
   */
  async userResult(
    manager: EntityManager,
    data: EvaluationUserResultData,
    ctx: ChangeContext,
  ): Promise<'applied' | 'unchanged' | 'covered' | 'discarded'> {
    const r = data.result;
    const evaluatedAt = new Date(r.evaluated_at);
    const found = await manager.findOne(UserGroup, { where: { id: r.group_id } });
    if (found) found.criteria = await manager.find(Criterion, { where: { groupId: found.id } });
    if (!found || found.deletedAt || found.kind !== 'dynamic' || !found.enabled || found.frozen) return 'discarded';
    const locked = await this.writer.lockGroups(manager, [found]);
    const group = locked.get(found.id) ?? found;
    if (group.lastRefreshedAt && group.lastRefreshedAt.getTime() >= evaluatedAt.getTime()) return 'covered';
    const [row] = await this.memberships.lockMembers(manager, [group.id], [r.user_id]);
    if (row && row.changedAt.getTime() >= evaluatedAt.getTime()) return 'covered';
    if (r.member && !row?.active) {
      await this.writer.activateMany(
        manager,
        group,
        [{ user_id: r.user_id, username: r.username }],
        ctx,
        undefined,
        locked,
      );
      return 'applied';
    }
    if (!r.member && row?.active) {
      await this.writer.deactivateMany(manager, group, [r.user_id], ctx, null);
      return 'applied';
    }
    return 'unchanged';
  }

  /**
   * The evaluator could not evaluate the group: it keeps its members, and shows why until an
   * evaluation newer than the failure applies.
   */
  async failed(manager: EntityManager, data: EvaluationFailedData, ctx: ChangeContext): Promise<void> {
    const f = data.failure;
    const failedAt = new Date(f.failed_at);
    const result = await manager.query(
      'UPDATE user_group SET evaluation_error = ?, evaluation_failed_at = ? WHERE id = ? AND (last_refreshed_at IS NULL OR last_refreshed_at < ?)',
      [f.error, failedAt, f.group_id, failedAt],
    );
    if (result.affectedRows)
      await appendAudit(manager, ctx, f.group_id, 'refresh_failed', {
        run_id: f.run_id,
        trigger: f.trigger,
        requested_by: f.requested_by,
        error: f.error,
      });
  }

  /**
   * Makes the group's active members exactly the run's, a chunk at a time: chunks hold ascending,
   * disjoint ranges of user ids (the snapshot contract), so chunk k decides the members between the
   * last id of chunk k-1 and its own last id (the last chunk, up to any id). Only that range's rows
   * are read and locked, so memory stays flat whatever the group's size. Joins and leaves are
   * ordinary membership changes (audit rows, events) with the context's origin; members who stay
   * are not touched, so an unchanged result publishes nothing.
   */
  private async applySnapshot(
    manager: EntityManager,
    group: UserGroup,
    runId: string,
    chunks: number,
    ctx: ChangeContext,
    locked: Map<string, UserGroup>,
  ): Promise<RunProgress> {
    const progress: RunProgress = { added: 0, removed: 0, memberCount: 0, above: 0 }; // user ids are positive
    for (let k = 0; k < chunks; k++) {
      const chunk = await this.chunks.read(manager, runId, k);
      // Only chunks that disagree on the run's chunk count can leave one out.
      if (!chunk)
        throw new MalformedRunError(`chunk ${k} of ${chunks} is missing (the run's chunks disagree on their count)`);
      await this.applyRange(manager, group, chunk.members, k, k === chunks - 1, progress, ctx, locked);
    }
    return progress;
  }

  /** One chunk's range of `applySnapshot`: the members with ids above `progress.above`, up to the chunk's last (the last chunk: up to any id). */
  private async applyRange(
    manager: EntityManager,
    group: UserGroup,
    wanted: Array<{ user_id: number; username: string }>,
    k: number,
    last: boolean,
    progress: RunProgress,
    ctx: ChangeContext,
    locked: Map<string, UserGroup>,
  ): Promise<void> {
    const above = progress.above;
    if (wanted.length && wanted[0].user_id <= above)
      throw new MalformedRunError(
        `the run's chunks are not in ascending user id order (chunk ${k} starts at or below ${above})`,
      );
    const upTo = last ? null : wanted.length ? wanted[wanted.length - 1].user_id : above;
    const present = await this.memberships.lockMemberRange(manager, group.id, above, upTo);
    const joining = wanted.filter((u) => !present.get(u.user_id));
    // Former members come back on their own rows: only those are read whole.
    const former = joining.filter((u) => present.has(u.user_id)).map((u) => u.user_id);
    const known = new Map((await this.memberships.lockMembers(manager, [group.id], former)).map((m) => [m.userId, m]));
    const results = joining.length
      ? await this.writer.activateMany(manager, group, joining, ctx, undefined, locked, known)
      : [];
    progress.added += results.filter((r) => r.result === 'added').length;
    const wantedIds = new Set(wanted.map((u) => u.user_id));
    const leaving = [...present]
      .filter(([userId, active]) => active && !wantedIds.has(userId))
      .map(([userId]) => userId);
    if (leaving.length)
      progress.removed += [...(await this.writer.deactivateMany(manager, group, leaving, ctx, null)).values()].filter(
        (r) => r === 'removed',
      ).length;
    progress.memberCount += wanted.length;
    progress.above = upTo ?? above;
  }
}

/** A run that cannot be applied range by range: chunks out of order, or one missing. */
class MalformedRunError extends Error {}
