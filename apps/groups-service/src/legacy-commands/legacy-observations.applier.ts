import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { EntityManager } from 'typeorm';
import { LegacyMembershipObservedData, MembershipOrigin } from '@groups-sync/contracts';
import { metric } from '@groups-sync/messaging';
import { ChangeContext } from '../audit/change-context';
import { cohortLink } from '../groups/legacy-link';
import { UserGroup } from '../groups/user-group.entity';
import { isFromTheLms, MembershipWriter, UserRef } from '../memberships/membership-writer';

export type ObservationOutcome = 'applied' | 'confirmed' | 'unchanged' | 'stale' | 'superseded';

export interface Observation {
  data: LegacyMembershipObservedData['observation'];
  /** The LMS's time of the change (its event's ce_time). */
  observedAt: Date;
  ctx: ChangeContext;
}

const outcomes = metric('legacy_observations_applied_total', () => new Counter({
  name: 'legacy_observations_applied_total', help: 'LMS observations groups-service received, by outcome', labelNames: ['outcome'],
}));

/** `ourChangeAt`: when this membership last changed by our own hand (not by an LMS observation). */
/** `supersededBy`: undefined leaves the stored value, null clears it. */
interface Row { active: boolean; syncState: string | null; observedAt: number | null; ourChangeAt: number | null; supersededBy?: string | null }

/**
 * Applies what the LMS showed (a learner in a cohort), a batch at a time. The LMS is where a
 * learner's cohort takes effect, so both sides end where the LMS ends. Per learner and course:
 * - later change wins on the LMS's clock alone: an observation no newer than the latest one this
 *   learner's memberships in the course reflect (`legacy_observed_at`) is stale; so is the echo of
 *   one of our writes (`echo_of_change_at`, our clock) when the membership has changed since;
 * - while one of our own writes for the learner is in flight (a `pending` add), an observation of
 *   another cohort came before that write in the LMS's order (legacy-sync forwards the LMS's events
 *   in order, and the write's own echo comes after it): the write will override it in the LMS, so it
 *   is superseded; the echo itself confirms the write;
 * - a difference a reconciliation run found is dated by when it read the LMS (our clock): it is
 *   stale when the membership changed by our hand after that read, and by the LMS rule above when
 *   the LMS showed a newer change;
 * - otherwise it is applied: the learner joins that group and leaves the course's other
 *   cohort-linked groups, origin `legacy`, nothing sent back to the LMS.
 * Set-based: one read and lock of the groups, one of the memberships, then one bulk change per group.
 */
@Injectable()
export class LegacyObservations {
  private readonly logger = new Logger(LegacyObservations.name);

  constructor(private readonly writer: MembershipWriter) {}

  /** `locked`: the groups the caller locked already (`lockGroupsById`), else they are locked here. */
  async apply(manager: EntityManager, observations: Observation[], locked?: Map<string, UserGroup>): Promise<ObservationOutcome[]> {
    if (!observations.length) return [];
    locked ??= await this.writer.lockGroupsById(manager, observations.map((o) => o.data.group_id));
    const userIds = [...new Set(observations.map((o) => o.data.user_id))];
    const rows = new Map<string, Row>();
    const key = (groupId: string, userId: number) => `${groupId}|${userId}`;
    if (locked.size) {
      for (const m of await this.writer.lockMembers(manager, [...locked.keys()], userIds)) {
        rows.set(key(m.groupId, m.userId), {
          active: m.active, syncState: m.syncState, observedAt: m.legacyObservedAt?.getTime() ?? null, ourChangeAt: isFromTheLms(m.origin as MembershipOrigin) ? null : m.changedAt.getTime(),
        });
      }
    }
    const row = (groupId: string, userId: number): Row => {
      let r = rows.get(key(groupId, userId));
      if (!r) rows.set(key(groupId, userId), (r = { active: false, syncState: null, observedAt: null, ourChangeAt: null }));
      return r;
    };

    // Decide in order, on the rows as the earlier observations of the batch left them.
    // One net change per learner and exclusive set (one partition carries many courses).
    const wanted = new Map<string, { group: UserGroup; action: 'added' | 'removed'; user: UserRef; ctx: ChangeContext }>();
    const results = observations.map((o): ObservationOutcome => {
      const group = locked.get(o.data.group_id);
      if (!group) return 'unchanged';
      const user = o.data.user_id;
      const at = o.observedAt.getTime();
      const set = [group, ...this.writer.exclusiveSiblings(group, locked)].map((g) => ({ g, r: row(g.id, user) }));
      const self = set[0].r;
      const register = Math.max(...set.map((x) => x.r.observedAt ?? -Infinity));
      if (at <= register) return 'stale';
      // The LMS has the learner in this group again, after any move set aside for a write of ours
      // in flight here: that move is no longer the latest thing the LMS did.
      if (o.data.action === 'added') self.supersededBy = null;
      // The echo of one of our writes that we have changed this membership again since (our own
      // clock; changes the LMS made do not count): that newer change reaches the LMS after it.
      const echoOf = o.data.echo_of_change_at ? Date.parse(o.data.echo_of_change_at) : NaN;
      if (self.ourChangeAt !== null && self.ourChangeAt > echoOf) {
        self.observedAt = at;
        return 'stale';
      }
      // Reconciliation read the LMS before a change of ours (to this learner in the course) that it could not see.
      if (o.data.reconciliation_run_id && set.some((x) => x.r.ourChangeAt !== null && x.r.ourChangeAt >= at)) return 'stale';
      const pendingAdd = set.find((x) => x.r.active && x.r.syncState === 'pending');
      const superseded = o.data.action === 'added'
        ? (pendingAdd && pendingAdd.g.id !== group.id ? pendingAdd.r : !self.active && self.syncState === 'pending' ? self : undefined)
        : self.active && self.syncState === 'pending' ? self : undefined;
      if (superseded) {
        superseded.observedAt = at;
        // Kept for our write's answer: if the LMS changed nothing (no echo to come), this
        // observation came after the write and is applied then (SyncResults).
        if (superseded !== self) superseded.supersededBy = group.id;
        return 'superseded';
      }
      if (o.data.action === 'added') {
        const outcome = self.active ? (self.syncState === 'synced' ? 'unchanged' : 'confirmed') : 'applied';
        for (const x of set) if (x.r.active && x.g.id !== group.id) x.r.active = false;
        Object.assign(self, { active: true, syncState: 'synced', observedAt: at });
        wanted.set(netChangeKey(group, user), { group, action: 'added', user: { user_id: user, username: o.data.username }, ctx: o.ctx });
        return outcome;
      }
      self.observedAt = at;
      if (!self.active) return 'unchanged';
      self.active = false;
      wanted.set(netChangeKey(group, user), { group, action: 'removed', user: { user_id: user, username: o.data.username }, ctx: o.ctx });
      return 'applied';
    });

    // Each learner's net change, one bulk write per group and action.
    const byGroup = new Map<string, { group: UserGroup; action: 'added' | 'removed'; users: UserRef[]; ctx: ChangeContext }>();
    for (const w of wanted.values()) {
      const k = `${w.group.id}|${w.action}`;
      if (!byGroup.has(k)) byGroup.set(k, { group: w.group, action: w.action, users: [], ctx: { ...w.ctx, at: new Date() } });
      byGroup.get(k)!.users.push(w.user);
    }
    for (const { group, action, users, ctx } of byGroup.values()) {
      if (action === 'added') await this.writer.activateMany(manager, group, users, ctx, 'synced', locked);
      else await this.writer.deactivateMany(manager, group, users.map((u) => u.user_id), ctx, null);
    }
    await this.recordObservedAt(manager, [...rows.entries()].filter(([, r]) => r.observedAt !== null).map(([k, r]) => {
      const [groupId, userId] = k.split('|');
      return { groupId, userId: Number(userId), at: new Date(r.observedAt!), supersededBy: r.supersededBy };
    }));
    for (const outcome of results) outcomes.inc({ outcome });
    const dropped = results.filter((r) => r === 'stale' || r === 'superseded').length;
    if (dropped) this.logger.log(`${dropped} of ${results.length} LMS observations were stale or superseded by a write in flight`);
    return results;
  }

  /** Moves each membership's LMS register forward (never back), many rows per statement. */
  private async recordObservedAt(manager: EntityManager, entries: Array<{ groupId: string; userId: number; at: Date; supersededBy?: string | null }>): Promise<void> {
    for (let i = 0; i < entries.length; i += 500) {
      const chunk = entries.slice(i, i + 500);
      await manager.query(
        `UPDATE membership m JOIN (${chunk.map(() => 'SELECT ? AS g, ? AS u, ? AS t, ? AS s, ? AS k').join(' UNION ALL ')}) v ON m.group_id = v.g AND m.user_id = v.u
         SET m.legacy_observed_at = GREATEST(COALESCE(m.legacy_observed_at, v.t), v.t), m.superseded_by_group_id = IF(v.k, v.s, m.superseded_by_group_id)`,
        chunk.flatMap((e) => [e.groupId, e.userId, e.at, e.supersededBy ?? null, e.supersededBy === undefined ? 0 : 1]));
    }
  }
}

/**
 * A learner's net change is kept per exclusive set: the course's cohort-linked groups (one cohort
 * per learner), a collection, or else the group alone (an enrollment event moves a learner out of
 * one track group and into another: both changes stand).
 */
function netChangeKey(group: UserGroup, userId: number): string {
  const set = cohortLink(group) !== null ? 'cohorts' : group.collection ? `collection:${group.collection}` : `group:${group.id}`;
  return `${group.scopeType}|${group.scopeKey}|${set}|${userId}`;
}
