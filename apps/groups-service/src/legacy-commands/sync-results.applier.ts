import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { EventType, LegacySyncCompletedData } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { appendAudit } from '../audit/audit.writer';
import { ChangeContext } from '../audit/change-context';
import { GroupsService } from '../groups/groups.service';
import { UserGroup } from '../groups/user-group.entity';
import { MembershipWriter } from '../memberships/membership-writer';
import { MemberRow, MembershipRepository } from '../memberships/membership.repository';

export interface SyncResult {
  data: LegacySyncCompletedData['sync_result'];
  ctx: ChangeContext;
}

/**
 * legacy-sync's answers to our writes, a batch at a time: `synced` clears the pending state in one
 * update; `rejected` reverts the membership with the reason (rare, row by row). An answer to an
 * older change than the membership's latest (both on groups-service's clock) is ignored: that
 * change gets its own answer. Link results record the cohort or team a group mirrors.
 */
@Injectable()
export class SyncResults {
  private readonly logger = new Logger(SyncResults.name);

  constructor(
    private readonly groups: GroupsService,
    private readonly writer: MembershipWriter,
    private readonly memberships: MembershipRepository,
    private readonly outbox: OutboxWriter,
  ) {}

  /** `locked`: the groups the caller locked already (`lockGroupsById`), else they are locked here. */
  async apply(manager: EntityManager, results: SyncResult[], locked?: Map<string, UserGroup>): Promise<void> {
    // The writer's lock order: every group row this batch touches (with exclusive siblings), in
    // id order, before any membership row or link update.
    locked ??= await this.writer.lockGroupsById(
      manager,
      results.map((x) => x.data.group_id),
    );
    for (const { data: r, ctx } of results.filter((x) => x.data.user_id === null)) {
      if (r.status === 'synced' && r.legacy_type === 'cohort' && r.legacy_id)
        await this.groups.recordCohortLink(manager, r.group_id, Number(r.legacy_id), ctx);
      else if (r.status === 'synced' && r.legacy_type === 'team' && r.legacy_id)
        await this.groups.recordTeamLink(manager, r.group_id, r.legacy_id, ctx);
      else if (r.status === 'rejected')
        await appendAudit(manager, ctx, r.group_id, 'legacy_link_rejected', {
          legacy_type: r.legacy_type,
          error: r.error,
        });
    }
    const answers = results.filter((x) => x.data.user_id !== null);
    if (!answers.length) return;
    const groupIds = [...new Set(answers.map((x) => x.data.group_id))];
    const members = new Map(
      (await this.memberships.lockMembers(manager, groupIds, [...new Set(answers.map((x) => x.data.user_id!))])).map(
        (m) => [`${m.groupId}|${m.userId}`, m],
      ),
    );
    const synced = new Set<string>();
    const lateMoves: Array<{ to: UserGroup; membership: MemberRow; ctx: ChangeContext }> = [];
    for (const { data: r, ctx } of answers) {
      const membership = members.get(`${r.group_id}|${r.user_id}`);
      if (!membership) continue;
      if (r.change_occurred_at && membership.changedAt.getTime() > new Date(r.change_occurred_at).getTime()) {
        this.logger.log(`sync result for group ${r.group_id} user ${r.user_id} answers an older change; ignored`);
        continue;
      }
      if (r.status === 'synced') {
        if (membership.syncState !== 'synced' || membership.syncError) synced.add(membership.id);
        // The LMS changed nothing for our add (the learner was there already), so no echo comes:
        // an LMS move we set aside while the add was in flight came after it, and now applies.
        const to = membership.supersededByGroupId ? locked.get(membership.supersededByGroupId) : undefined;
        if (r.lms_echo_expected === false && membership.active && membership.syncState === 'pending' && to)
          lateMoves.push({ to, membership, ctx });
        continue;
      }
      synced.delete(membership.id);
      await this.reject(
        manager,
        membership,
        locked.get(membership.groupId) ?? null,
        r.error ?? 'refused by the LMS',
        ctx,
      );
    }
    await this.memberships.confirm(manager, [...synced], 'synced');
    for (const { to, membership, ctx } of lateMoves) {
      await this.writer.activateMany(
        manager,
        to,
        [{ user_id: membership.userId, username: membership.username }],
        { ...ctx, origin: 'legacy' },
        'synced',
        locked,
      );
    }
  }

  /** The LMS refused the write for good: revert the membership, keep the reason, say so in the history. */
  private async reject(
    manager: EntityManager,
    membership: MemberRow,
    group: UserGroup | null,
    error: string,
    ctx: ChangeContext,
  ): Promise<void> {
    const revert = membership.active;
    await this.memberships.reject(manager, membership.id, error, revert ? ctx.at : null);
    membership.active = false;
    membership.syncState = 'rejected';
    await appendAudit(
      manager,
      ctx,
      membership.groupId,
      'member_sync_rejected',
      { error, reverted: revert },
      membership.userId,
    );
    if (revert && group) {
      await this.outbox.append(
        manager,
        EventType.UserGroupMembershipChanged,
        this.writer.membershipEvent(group, membership, 'removed', { ...ctx, origin: 'legacy' }, null),
        ctx,
      );
    }
  }
}
