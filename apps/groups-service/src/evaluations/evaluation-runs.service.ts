import { Injectable, Logger } from '@nestjs/common';
import { EntityManager, LessThanOrEqual } from 'typeorm';
import { EvaluationFailedData, EvaluationSnapshotData, EvaluationUserResultData, EventType, toCeTime } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { appendAudit } from '../audit/audit.writer';
import { ChangeContext } from '../audit/change-context';
import { Criterion } from '../groups/criterion.entity';
import { UserGroup } from '../groups/user-group.entity';
import { MembershipWriter } from '../memberships/membership-writer';
import { GroupsServiceConfig } from '../groups-service.config';
import { EvaluationChunk } from './evaluation-chunk.entity';

export type ChunkOutcome = 'waiting' | 'applied' | 'discarded';

/**
 * Collects an evaluation run's chunks and, when the last one is in, applies the whole member set
 * to the dynamic group in one transaction: joins and leaves with origin `criteria`, the group's
 * last_refreshed_at, a `refresh_completed` audit row and event. A run older than the group's last
 * applied one, or for a group that is no longer dynamic, enabled and unfrozen, is discarded with
 * the reason in the history.
 */
@Injectable()
export class EvaluationRuns {
  private readonly logger = new Logger(EvaluationRuns.name);

  constructor(private readonly writer: MembershipWriter, private readonly outbox: OutboxWriter, private readonly config: GroupsServiceConfig) {}

  async receive(manager: EntityManager, data: EvaluationSnapshotData, ctx: ChangeContext): Promise<ChunkOutcome> {
    const s = data.snapshot;
    const evaluatedAt = new Date(s.evaluated_at);
    await manager.createQueryBuilder().insert().into(EvaluationChunk).orIgnore().values({
      runId: s.run_id, chunk: s.chunk, groupId: s.group_id, chunks: s.chunks, members: s.members, evaluatedAt, receivedAt: ctx.at,
    }).execute();
    const received = await manager.count(EvaluationChunk, { where: { runId: s.run_id } });
    if (received < s.chunks) return 'waiting';
    // Only a run's last chunk reads and locks the group (with its exclusive siblings, in the
    // writer's lock order), so that two runs never apply side by side.
    const found = await manager.findOne(UserGroup, { where: { id: s.group_id } });
    if (found) found.criteria = await manager.find(Criterion, { where: { groupId: found.id } });
    const locked = found ? await this.writer.lockGroups(manager, [found]) : new Map<string, UserGroup>();
    const group = locked.get(s.group_id) ?? found;

    const refresh = { group_id: s.group_id, run_id: s.run_id, trigger: s.trigger, requested_by: s.requested_by };

    const reason = !group || group.deletedAt ? 'the group no longer exists'
      : group.kind !== 'dynamic' ? `the group is ${group.kind}, not dynamic`
        : !group.enabled ? 'the group is disabled'
          : group.frozen ? 'the group is frozen'
            : group.lastRefreshedAt && group.lastRefreshedAt.getTime() >= evaluatedAt.getTime() ? 'a newer evaluation was applied already'
              : null;
    // A savepoint: a run found malformed halfway (out of order, a chunk missing) is undone and discarded, not half applied.
    const started = Date.now();
    const applied = reason ? null : await manager.transaction((run) => this.applySnapshot(run, group!, s.run_id, s.chunks, { ...ctx, packEvents: this.config.OUTBOX_PACK_EVENTS }, locked))
      .catch((error) => { if (error instanceof MalformedRunError) return error; throw error; });
    // This run and any older, unfinished ones of the same group are done with.
    await manager.delete(EvaluationChunk, { runId: s.run_id });
    await manager.delete(EvaluationChunk, { groupId: s.group_id, evaluatedAt: LessThanOrEqual(evaluatedAt) });
    if (!applied || applied instanceof MalformedRunError) {
      const why = reason ?? (applied as MalformedRunError).message;
      this.logger.log(`evaluation run ${s.run_id} for group ${s.group_id} discarded: ${why}`);
      if (group) await appendAudit(manager, ctx, group.id, 'refresh_discarded', { ...refresh, reason: why });
      return 'discarded';
    }
    const { added, removed, memberCount } = applied;
    this.logger.log(`evaluation run ${s.run_id} applied to group ${s.group_id}: +${added} -${removed}, ${memberCount} members, in ${Date.now() - started} ms (${Date.now() - evaluatedAt.getTime()} ms after the evaluation)`);
    await manager.update(UserGroup, { id: group!.id }, { lastRefreshedAt: evaluatedAt, evaluationError: null, evaluationFailedAt: null });
    await appendAudit(manager, ctx, group!.id, 'refresh_completed', { ...refresh, added, removed, member_count: memberCount });
    await this.outbox.append(manager, EventType.UserGroupRefreshCompleted, {
      refresh: { ...refresh, added, removed, member_count: memberCount, completed_at: toCeTime(ctx.at) },
    }, ctx);
    return 'applied';
  }

  /**
   * One user re-evaluated after an LMS event: joins or leaves the group (origin `criteria`), unless
   * a full refresh or a change of the membership newer than the evaluation covered it already.
   */
  async userResult(manager: EntityManager, data: EvaluationUserResultData, ctx: ChangeContext): Promise<'applied' | 'unchanged' | 'covered' | 'discarded'> {
    const r = data.result;
    const evaluatedAt = new Date(r.evaluated_at);
    const found = await manager.findOne(UserGroup, { where: { id: r.group_id } });
    if (found) found.criteria = await manager.find(Criterion, { where: { groupId: found.id } });
    if (!found || found.deletedAt || found.kind !== 'dynamic' || !found.enabled || found.frozen) return 'discarded';
    const locked = await this.writer.lockGroups(manager, [found]);
    const group = locked.get(found.id) ?? found;
    if (group.lastRefreshedAt && group.lastRefreshedAt.getTime() >= evaluatedAt.getTime()) return 'covered';
    const [row] = await this.writer.lockMembers(manager, [group.id], [r.user_id]);
    if (row && row.changedAt.getTime() >= evaluatedAt.getTime()) return 'covered';
    if (r.member && !row?.active) {
      await this.writer.activateMany(manager, group, [{ user_id: r.user_id, username: r.username }], ctx, undefined, locked);
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
      [f.error, failedAt, f.group_id, failedAt]);
    if (result.affectedRows) await appendAudit(manager, ctx, f.group_id, 'refresh_failed', { run_id: f.run_id, trigger: f.trigger, requested_by: f.requested_by, error: f.error });
  }

  /**
   * Makes the group's active members exactly the run's, a chunk at a time: chunks hold ascending,
   * disjoint ranges of user ids (the snapshot contract), so chunk k decides the members between the
   * last id of chunk k-1 and its own last id (the last chunk, up to any id). Only that range's rows
   * are read and locked, so memory stays flat whatever the group's size. Joins and leaves are
   * ordinary membership changes (audit rows, events) with the context's origin; members who stay
   * are not touched, so an unchanged result publishes nothing.
   */
  private async applySnapshot(manager: EntityManager, group: UserGroup, runId: string, chunks: number, ctx: ChangeContext, locked: Map<string, UserGroup>) {
    let added = 0;
    let removed = 0;
    let memberCount = 0;
    let above = 0; // user ids are positive
    for (let k = 0; k < chunks; k++) {
      const chunk = await manager.findOne(EvaluationChunk, { where: { runId, chunk: k } });
      // Only chunks that disagree on the run's chunk count can leave one out.
      if (!chunk) throw new MalformedRunError(`chunk ${k} of ${chunks} is missing (the run's chunks disagree on their count)`);
      const wanted = chunk.members;
      if (wanted.length && wanted[0].user_id <= above) throw new MalformedRunError(`the run's chunks are not in ascending user id order (chunk ${k} starts at or below ${above})`);
      // The last chunk decides every id above: no upper bound.
      const upTo = k === chunks - 1 ? null : wanted.length ? wanted[wanted.length - 1].user_id : above;
      const present = await this.writer.lockMemberRange(manager, group.id, above, upTo);
      const joining = wanted.filter((u) => !present.get(u.user_id));
      // Former members come back on their own rows: only those are read whole.
      const former = joining.filter((u) => present.has(u.user_id)).map((u) => u.user_id);
      const known = new Map((await this.writer.lockMembers(manager, [group.id], former)).map((m) => [m.userId, m]));
      const results = joining.length ? await this.writer.activateMany(manager, group, joining, ctx, undefined, locked, known) : [];
      added += results.filter((r) => r.result === 'added').length;
      const wantedIds = new Set(wanted.map((u) => u.user_id));
      const leaving = [...present].filter(([userId, active]) => active && !wantedIds.has(userId)).map(([userId]) => userId);
      if (leaving.length) removed += [...(await this.writer.deactivateMany(manager, group, leaving, ctx, null)).values()].filter((r) => r === 'removed').length;
      memberCount += wanted.length;
      above = upTo ?? above;
    }
    return { added, removed, memberCount };
  }
}

/** A run that cannot be applied range by range: chunks out of order, or one missing. */
class MalformedRunError extends Error {}
