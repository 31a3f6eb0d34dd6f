import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { EntityManager } from 'typeorm';
import { LegacyMembershipObservedData, MembershipOrigin } from '@groups-sync/contracts';
import { metric } from '@groups-sync/messaging';
import { ChangeContext } from '../audit/change-context';
import { cohortLink } from '../groups/legacy-link';
import { UserGroup } from '../groups/user-group.entity';
import { isFromTheLms, MembershipWriter, UserRef } from '../memberships/membership-writer';
import { MembershipRepository } from '../memberships/membership.repository';
import { decideObservation, emptyMembership, MembershipState, ObservationOutcome } from './observation-rules';

export type { ObservationOutcome } from './observation-rules';

export interface Observation {
  data: LegacyMembershipObservedData['observation'];
  /** The LMS's time of the change (its event's ce_time). */
  observedAt: Date;
  ctx: ChangeContext;
}

const outcomes = metric(
  'legacy_observations_applied_total',
  () =>
    new Counter({
      name: 'legacy_observations_applied_total',
      help: 'LMS observations groups-service received, by outcome',
      labelNames: ['outcome'],
    }),
);

/**
 * Applies what the LMS showed (a learner in a cohort), a batch at a time. The rules are
 * `decideObservation` (observation-rules.ts, unit-tested without a database); this class feeds
 * them and writes what they decide. Set-based: one read and lock of the groups, one of the
 * memberships (every state the rules look at), the rules in memory, in the batch's order, then one
 * bulk change per group and action and one bulk update of the LMS registers. The rules decide per
 * row rather than in SQL so that an observation is decided on the states the batch's earlier ones
 * left, which a single statement cannot see.
 */
@Injectable()
export class LegacyObservations {
  private readonly logger = new Logger(LegacyObservations.name);

  constructor(
    private readonly writer: MembershipWriter,
    private readonly memberships: MembershipRepository,
  ) {}

  /** `locked`: the groups the caller locked already (`lockGroupsById`), else they are locked here. */
  async apply(
    manager: EntityManager,
    observations: Observation[],
    locked?: Map<string, UserGroup>,
  ): Promise<ObservationOutcome[]> {
    if (!observations.length) return [];
    locked ??= await this.writer.lockGroupsById(
      manager,
      observations.map((o) => o.data.group_id),
    );
    const userIds = [...new Set(observations.map((o) => o.data.user_id))];
    const states = new Map<string, MembershipState>();
    const key = (groupId: string, userId: number) => `${groupId}|${userId}`;
    if (locked.size) {
      for (const m of await this.memberships.lockMembers(manager, [...locked.keys()], userIds)) {
        states.set(key(m.groupId, m.userId), {
          active: m.active,
          syncState: m.syncState,
          observedAt: m.legacyObservedAt?.getTime() ?? null,
          ourChangeAt: isFromTheLms(m.origin as MembershipOrigin) ? null : m.changedAt.getTime(),
        });
      }
    }
    const state = (groupId: string, userId: number): MembershipState => {
      let s = states.get(key(groupId, userId));
      if (!s) states.set(key(groupId, userId), (s = emptyMembership()));
      return s;
    };

    // Decide in order, on the states as the earlier observations of the batch left them.
    // One net change per learner and exclusive set (one partition carries many courses).
    const wanted = new Map<
      string,
      { group: UserGroup; action: 'added' | 'removed'; user: UserRef; ctx: ChangeContext }
    >();
    // A group's exclusive set, once per group of the batch (not once per observation).
    const sets = new Map<string, UserGroup[]>();
    const exclusiveSet = (group: UserGroup) => {
      let set = sets.get(group.id);
      if (!set) sets.set(group.id, (set = [group, ...this.writer.exclusiveSiblings(group, locked)]));
      return set;
    };
    const results = observations.map((o): ObservationOutcome => {
      const group = locked.get(o.data.group_id);
      if (!group) return 'unchanged';
      const user = o.data.user_id;
      const set = exclusiveSet(group).map((g) => ({
        groupId: g.id,
        state: state(g.id, user),
      }));
      const { outcome, change } = decideObservation(
        {
          groupId: group.id,
          action: o.data.action,
          observedAt: o.observedAt.getTime(),
          echoOfChangeAt: o.data.echo_of_change_at ? Date.parse(o.data.echo_of_change_at) : null,
          fromReconciliation: !!o.data.reconciliation_run_id,
        },
        set,
      );
      if (change)
        wanted.set(netChangeKey(group, user), {
          group,
          action: change,
          user: { user_id: user, username: o.data.username },
          ctx: o.ctx,
        });
      return outcome;
    });

    // Each learner's net change, one bulk write per group and action.
    const byGroup = new Map<
      string,
      { group: UserGroup; action: 'added' | 'removed'; users: UserRef[]; ctx: ChangeContext }
    >();
    for (const w of wanted.values()) {
      const k = `${w.group.id}|${w.action}`;
      if (!byGroup.has(k))
        byGroup.set(k, { group: w.group, action: w.action, users: [], ctx: { ...w.ctx, at: new Date() } });
      byGroup.get(k)!.users.push(w.user);
    }
    for (const { group, action, users, ctx } of byGroup.values()) {
      if (action === 'added') await this.writer.activateMany(manager, group, users, ctx, 'synced', locked);
      else
        await this.writer.deactivateMany(
          manager,
          group,
          users.map((u) => u.user_id),
          ctx,
          null,
        );
    }
    // After the writes: a membership the batch created has its row now.
    await this.memberships.recordObservedAt(
      manager,
      [...states.entries()]
        .filter(([, s]) => s.observedAt !== null)
        .map(([k, s]) => {
          const [groupId, userId] = k.split('|');
          return { groupId, userId: Number(userId), at: new Date(s.observedAt!), supersededBy: s.supersededBy };
        }),
    );
    for (const outcome of results) outcomes.inc({ outcome });
    const dropped = results.filter((r) => r === 'stale' || r === 'superseded').length;
    if (dropped)
      this.logger.log(`${dropped} of ${results.length} LMS observations were stale or superseded by a write in flight`);
    return results;
  }
}

/**
 * A learner's net change is kept per exclusive set: the course's cohort-linked groups (one cohort
 * per learner), a collection, or else the group alone (an enrollment event moves a learner out of
 * one track group and into another: both changes stand).
 */
function netChangeKey(group: UserGroup, userId: number): string {
  const set =
    cohortLink(group) !== null ? 'cohorts' : group.collection ? `collection:${group.collection}` : `group:${group.id}`;
  return `${group.scopeType}|${group.scopeKey}|${set}|${userId}`;
}
