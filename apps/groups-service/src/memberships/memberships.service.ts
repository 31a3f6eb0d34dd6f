import { Injectable, Logger } from '@nestjs/common';
import { Brackets, DataSource, EntityManager, In } from 'typeorm';
import { EventType, LegacySyncCompletedData, LegacyMembershipObservedData, toCeTime } from '@groups-sync/contracts';
import { OutboxRelay, OutboxWriter } from '@groups-sync/messaging';
import { inTransaction, isDuplicateKeyError } from '@groups-sync/persistence';
import { appendAudit, appendAuditMany } from '../audit/audit.writer';
import { ChangeContext } from '../audit/change-context';
import { GroupsService } from '../groups/groups.service';
import { GroupsErrorCode, GroupsException } from '../groups/groups.exception';
import { legacyKind } from '../groups/criteria-rules';
import { Criterion } from '../groups/criterion.entity';
import { cohortLink, LEGACY_COHORT } from '../groups/legacy-link';
import { UserGroup } from '../groups/user-group.entity';
import { UserDirectory, UserLookup, UserResolution } from '../users/user-directory';
import { Membership, SyncState } from './membership.entity';

export type AddResult = 'added' | 'already_member' | 'unknown' | 'refused';
export type RemoveResult = 'removed' | 'not_member' | 'unknown' | 'refused';

/** One line of a bulk answer: the user as resolved (or as given, when not found) and what happened. */
export interface MemberResult<R extends string> {
  user_id: number | null;
  username: string | null;
  email?: string;
  result: R;
  reason?: string;
}

/** Users handled per locking read and multi-row insert in a bulk add. */
const BATCH = 1000;

interface UserRef { user_id: number; username: string }

@Injectable()
export class MembershipsService {
  private readonly logger = new Logger(MembershipsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly groups: GroupsService,
    private readonly directory: UserDirectory,
    private readonly outbox: OutboxWriter,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * Adds users named by id, username or email. Idempotent; each user gets `added`, `already_member`,
   * `unknown` (no such account in the LMS) or `refused` with a reason.
   */
  async add(groupId: string, refs: UserLookup[], ctx: ChangeContext, options: { dryRun?: boolean } = {}): Promise<Array<MemberResult<AddResult>>> {
    this.assertWritable(await this.groups.get(groupId)); // before asking the LMS about anyone
    const resolved = await this.directory.resolve(refs);
    const users = dedupe(resolved.flatMap((r) => (r.status === 'found' ? [{ user_id: r.account.id, username: r.account.username }] : [])));
    const outcome = new Map<number, AddResult>();
    if (options.dryRun) {
      // What an add would answer, changing nothing: who is a member already.
      for (let i = 0; i < users.length; i += BATCH) {
        const ids = users.slice(i, i + BATCH).map((u) => u.user_id);
        const active = await this.dataSource.getRepository(Membership).find({ select: { userId: true }, where: { groupId, userId: In(ids), active: true } });
        const members = new Set(active.map((m) => m.userId));
        for (const id of ids) outcome.set(id, members.has(id) ? 'already_member' : 'added');
      }
    } else if (users.length) {
      const results = await inTransaction(this.dataSource, async (manager) => {
        const group = await this.groups.get(groupId, manager);
        this.assertWritable(group);
        return this.activateMany(manager, group, users, ctx);
      });
      for (const r of results) outcome.set(r.user_id, r.result);
      this.relay.notify();
    }
    return refs.map((ref, i) => describe(ref, resolved[i], outcome));
  }

  /** Removes users named by id, username or email: `removed`, `not_member`, `unknown` or `refused`. */
  async remove(groupId: string, refs: UserLookup[], ctx: ChangeContext): Promise<Array<MemberResult<RemoveResult>>> {
    this.assertWritable(await this.groups.get(groupId));
    // A bare user id needs no lookup: the membership row says whether it is a member.
    const lookups = refs.filter((r) => r.username !== undefined || r.email !== undefined);
    const looked = lookups.length ? await this.directory.resolve(lookups) : [];
    const resolved: UserResolution[] = refs.map((r) => (r.username !== undefined || r.email !== undefined
      ? looked[lookups.indexOf(r)]
      : { status: 'found', account: { id: r.user_id!, username: '', email: null } }));
    const userIds = [...new Set(resolved.flatMap((r) => (r.status === 'found' ? [r.account.id] : [])))];
    const outcome = new Map<number, RemoveResult>();
    if (userIds.length) {
      await inTransaction(this.dataSource, async (manager) => {
        outcome.clear(); // a deadlock retry starts over
        const group = await this.groups.get(groupId, manager);
        this.assertWritable(group);
        for (const [userId, result] of await this.deactivateMany(manager, group, userIds, ctx, null)) outcome.set(userId, result);
      });
      this.relay.notify();
      // Name the users given by bare id, from their membership rows.
      const rows: Array<{ user_id: string; username: string }> = await this.dataSource.query(
        'SELECT user_id, username FROM membership WHERE group_id = ? AND user_id IN (?)', [groupId, userIds]);
      const names = new Map(rows.map((r) => [Number(r.user_id), r.username]));
      for (const r of resolved) if (r.status === 'found' && !r.account.username) r.account.username = names.get(r.account.id) ?? '';
    }
    return refs.map((ref, i) => describe(ref, resolved[i], outcome));
  }

  /** Callers load (and authorize) the group first. */
  async list(groupId: string, status: 'active' | 'all', offset: number, limit: number): Promise<{ count: number; members: Membership[] }> {
    const [members, count] = await this.dataSource.getRepository(Membership).findAndCount({
      where: { groupId, ...(status === 'active' ? { active: true } : {}) }, order: { userId: 'ASC' }, skip: offset, take: limit,
    });
    return { count, members };
  }

  /** One page of the CSV export, keyed on user id so that a large group streams in constant memory. */
  async exportPage(groupId: string, status: 'active' | 'all', afterUserId: number, limit: number) {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT m.user_id, m.username, a.email, m.active, m.origin, m.joined_at, m.left_at, m.sync_state
       FROM membership m LEFT JOIN user_account a ON a.id = m.user_id
       WHERE m.group_id = ? AND m.user_id > ? ${status === 'active' ? 'AND m.active = 1' : ''} ORDER BY m.user_id LIMIT ?`, [groupId, afterUserId, limit]);
    return rows.map((r) => ({
      user_id: Number(r.user_id), username: String(r.username), email: (r.email as string | null) ?? null, active: !!r.active, origin: String(r.origin),
      joined_at: r.joined_at as Date, left_at: (r.left_at as Date | null) ?? null, sync_state: (r.sync_state as string | null) ?? null,
    }));
  }

  /** Pending, synced and rejected counts of a legacy group's memberships, with the last error. */
  async syncStatus(groupId: string) {
    const rows: Array<{ state: string | null; n: string }> = await this.dataSource.query(
      'SELECT sync_state AS state, COUNT(*) AS n FROM membership WHERE group_id = ? GROUP BY sync_state', [groupId]);
    const count = (state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
    const [last] = await this.dataSource.query(
      `SELECT user_id, sync_error, changed_at FROM membership WHERE group_id = ? AND sync_state = 'rejected' ORDER BY changed_at DESC LIMIT 1`, [groupId]);
    return {
      pending: count('pending'), synced: count('synced'), rejected: count('rejected'),
      last_error: last ? { user_id: Number(last.user_id), error: last.sync_error, at: last.changed_at } : null,
    };
  }

  /** Every group a user is in: served by the (user_id, active, group_id) index. */
  async groupsOfUser(userId: number, scopeType?: string, scopeKey?: string): Promise<Array<{ group: UserGroup; membership: Membership }>> {
    const qb = this.dataSource.getRepository(Membership).createQueryBuilder('m')
      .innerJoinAndMapOne('m.group', UserGroup, 'g', 'g.id = m.group_id AND g.deleted_at IS NULL')
      .where('m.user_id = :userId AND m.active = 1', { userId });
    if (scopeType) qb.andWhere('g.scope_type = :scopeType', { scopeType });
    if (scopeKey !== undefined) qb.andWhere('g.scope_key = :scopeKey', { scopeKey });
    const rows = (await qb.orderBy('g.name', 'ASC').limit(1000).getMany()) as Array<Membership & { group: UserGroup }>;
    return rows.map((m) => ({ group: m.group, membership: m }));
  }

  /**
   * The LMS showed the user in the cohort behind this group. Applied only if newer than the
   * membership's last change (later change wins); an echo of our own write changes nothing.
   */
  async applyLegacyObservation(manager: EntityManager, data: LegacyMembershipObservedData, ctx: ChangeContext): Promise<'applied' | 'unchanged' | 'stale'> {
    const obs = data.observation;
    const group = await manager.findOne(UserGroup, { where: { id: obs.group_id }, relations: { criteria: true } });
    if (!group || group.deletedAt) return 'unchanged';
    const existing = await manager.findOne(Membership, { where: { groupId: group.id, userId: obs.user_id }, lock: { mode: 'pessimistic_write' } });
    if (existing && existing.changedAt.getTime() > ctx.at.getTime()) {
      this.logger.log(`stale legacy observation for group ${group.id} user ${obs.user_id} dropped`);
      return 'stale';
    }
    if (obs.action === 'added') {
      // Joining moves the user out of exclusive siblings: a newer change there wins as well.
      const siblings = await this.exclusiveSiblings(manager, group);
      const newerElsewhere = siblings.length ? await manager.createQueryBuilder(Membership, 'm')
        .where('m.group_id IN (:...ids) AND m.user_id = :userId AND m.changed_at > :at', { ids: siblings.map((g) => g.id), userId: obs.user_id, at: ctx.at })
        .getCount() : 0;
      if (newerElsewhere) {
        this.logger.log(`legacy observation for group ${group.id} user ${obs.user_id} is older than a change in a sibling group; dropped`);
        return 'stale';
      }
      const [{ result }] = await this.activateMany(manager, group, [{ user_id: obs.user_id, username: obs.username }], ctx, 'synced');
      return result === 'added' ? 'applied' : 'unchanged';
    }
    return (await this.deactivate(manager, group, obs.user_id, ctx, null)) === 'removed' ? 'applied' : 'unchanged';
  }

  /**
   * Makes a dynamic group's active members exactly `desired`, an evaluation's result. Joins and
   * leaves are ordinary membership changes (audit rows, events) with the context's origin; members
   * who stay are not touched, so an unchanged result publishes nothing.
   */
  async applySnapshot(manager: EntityManager, group: UserGroup, desired: UserRef[], ctx: ChangeContext): Promise<{ added: number; removed: number; memberCount: number }> {
    const wanted = dedupe(desired);
    const wantedIds = new Set(wanted.map((u) => u.user_id));
    const current: Array<{ user_id: string }> = await manager.query('SELECT user_id FROM membership WHERE group_id = ? AND active = 1 FOR UPDATE', [group.id]);
    const currentIds = new Set(current.map((r) => Number(r.user_id)));
    const joining = wanted.filter((u) => !currentIds.has(u.user_id));
    const results = joining.length ? await this.activateMany(manager, group, joining, ctx) : [];
    const leaving = [...currentIds].filter((userId) => !wantedIds.has(userId));
    const removed = [...(await this.deactivateMany(manager, group, leaving, ctx, null)).values()].filter((r) => r === 'removed').length;
    return { added: results.filter((r) => r.result === 'added').length, removed, memberCount: wanted.length };
  }

  /** legacy-sync's answer for one membership write or for a group's link. */
  async applySyncResult(manager: EntityManager, data: LegacySyncCompletedData, ctx: ChangeContext): Promise<void> {
    const r = data.sync_result;
    if (r.user_id === null) {
      if (r.status === 'synced' && r.legacy_type === 'cohort' && r.legacy_id) {
        await this.groups.recordCohortLink(manager, r.group_id, Number(r.legacy_id), ctx);
      } else if (r.status === 'rejected') {
        await appendAudit(manager, ctx, r.group_id, 'legacy_link_rejected', { legacy_type: r.legacy_type, error: r.error });
      }
      return;
    }
    const membership = await manager.findOne(Membership, { where: { groupId: r.group_id, userId: r.user_id }, lock: { mode: 'pessimistic_write' } });
    if (!membership) return;
    // The answer to an older change: the membership changed since, and that change gets its own answer.
    if (r.change_occurred_at && membership.changedAt.getTime() > new Date(r.change_occurred_at).getTime()) {
      this.logger.log(`sync result for group ${r.group_id} user ${r.user_id} answers an older change; ignored`);
      return;
    }
    if (r.status === 'synced') {
      if (membership.syncState !== 'synced' || membership.syncError) await manager.update(Membership, { id: membership.id }, { syncState: 'synced', syncError: null });
      return;
    }
    // The LMS refused the write for good: revert the membership, keep the reason, say so in the history.
    const revert = membership.active;
    await manager.update(Membership, { id: membership.id }, {
      syncState: 'rejected', syncError: r.error, ...(revert ? { active: false, leftAt: ctx.at, changedAt: ctx.at, origin: 'legacy' as const } : {}),
    });
    await appendAudit(manager, ctx, r.group_id, 'member_sync_rejected', { error: r.error, reverted: revert }, r.user_id);
    if (revert) {
      const group = await manager.findOneOrFail(UserGroup, { where: { id: r.group_id }, relations: { criteria: true } });
      await this.outbox.append(manager, EventType.UserGroupMembershipChanged, this.membershipEvent(group, membership, 'removed', { ...ctx, origin: 'legacy' }, null), ctx);
    }
  }

  private assertWritable(group: UserGroup): void {
    if (group.kind === 'dynamic') {
      throw new GroupsException(GroupsErrorCode.MembersReadOnly, 'members of a dynamic group come only from its criteria');
    }
    if (legacyKind(group.criteria) === 'enrollment_track') {
      throw new GroupsException(GroupsErrorCode.MembersReadOnly, 'an enrollment-track group mirrors enrollment modes; change the enrollment in the LMS');
    }
  }

  /**
   * Makes users active members, a thousand at a time: one locking read, one update for the
   * reactivated, multi-row inserts for new memberships, audit rows and events, and one removal per
   * exclusive sibling the users leave.
   */
  private async activateMany(
    manager: EntityManager, group: UserGroup, users: UserRef[], ctx: ChangeContext, syncState?: 'synced',
  ): Promise<Array<UserRef & { result: AddResult }>> {
    // Lock the exclusive siblings first, so concurrent adds into one collection take turns.
    const siblings = await this.exclusiveSiblings(manager, group);
    const state: SyncState | null = syncState ?? (cohortLink(group) !== null ? 'pending' : null);
    const results = new Map<number, AddResult>();
    for (let i = 0; i < users.length; i += BATCH) {
      const batch = users.slice(i, i + BATCH);
      const existing = new Map((await manager.find(Membership, {
        where: { groupId: group.id, userId: In(batch.map((u) => u.user_id)) }, lock: { mode: 'pessimistic_write' },
      })).map((m) => [m.userId, m]));
      const added: UserRef[] = [];
      const fresh: UserRef[] = [];
      const reactivated: Membership[] = [];
      for (const user of batch) {
        const current = existing.get(user.user_id);
        if (current?.active) {
          results.set(user.user_id, 'already_member');
          if (syncState && current.syncState !== syncState) await manager.update(Membership, { id: current.id }, { syncState, syncError: null });
        } else if (current) {
          // A username the LMS changed since is kept up to date; the rest go in one update below.
          if (current.username !== user.username) await manager.update(Membership, { id: current.id }, { username: user.username });
          reactivated.push(current);
          added.push(user);
        } else {
          fresh.push(user);
        }
      }
      if (reactivated.length) {
        await manager.update(Membership, { id: In(reactivated.map((m) => m.id)) }, {
          active: true, joinedAt: ctx.at, leftAt: null, origin: ctx.origin, changedAt: ctx.at, syncState: state, syncError: null,
        });
      }
      if (fresh.length) {
        const rows = fresh.map((u) => ({
          groupId: group.id, userId: u.user_id, username: u.username, active: true, joinedAt: ctx.at, leftAt: null,
          origin: ctx.origin, changedAt: ctx.at, syncState: state, syncError: null,
        }));
        try {
          await manager.insert(Membership, rows);
          added.push(...fresh);
        } catch (error) {
          // A concurrent add inserted some of them first: take the rows one by one.
          if (!isDuplicateKeyError(error)) throw error;
          for (const row of rows) {
            try {
              await manager.insert(Membership, row);
              added.push(fresh.find((u) => u.user_id === row.userId)!);
            } catch (rowError) {
              if (!isDuplicateKeyError(rowError)) throw rowError;
              results.set(row.userId, 'already_member');
            }
          }
        }
      }
      for (const user of added) results.set(user.user_id, 'added');
      await appendAuditMany(manager, ctx, group.id, 'member_added', added.map((u) => ({ userId: u.user_id, details: { origin: ctx.origin } })));
      await this.outbox.appendMany(manager, EventType.UserGroupMembershipChanged,
        added.map((u) => this.membershipEvent(group, { userId: u.user_id, username: u.username }, 'added', ctx, null)), ctx);
      if (siblings.length && added.length) {
        const elsewhere = await manager.find(Membership, {
          where: { groupId: In(siblings.map((g) => g.id)), userId: In(added.map((u) => u.user_id)), active: true }, lock: { mode: 'pessimistic_write' },
        });
        for (const sibling of siblings) {
          const leaving = elsewhere.filter((m) => m.groupId === sibling.id).map((m) => m.userId);
          if (leaving.length) await this.deactivateMany(manager, sibling, leaving, ctx, group.id);
        }
      }
    }
    return users.map((u) => ({ ...u, result: results.get(u.user_id)! }));
  }

  /**
   * Groups the user must leave on joining this one: the same named collection in the same scope,
   * and, for a cohort-linked group, the course's other cohort-linked groups (the LMS keeps one
   * cohort per learner and course). Their rows are locked in id order.
   */
  private async exclusiveSiblings(manager: EntityManager, group: UserGroup): Promise<UserGroup[]> {
    const cohort = cohortLink(group) !== null;
    if (!cohort && !group.collection) return [];
    const qb = manager.createQueryBuilder(UserGroup, 'g')
      .leftJoin(Criterion, 'c', 'c.group_id = g.id AND c.type = :cohortType', { cohortType: LEGACY_COHORT })
      .where('g.scope_type = :scopeType AND g.scope_key = :scopeKey AND g.deleted_at IS NULL', { scopeType: group.scopeType, scopeKey: group.scopeKey })
      .andWhere(new Brackets((w) => {
        if (group.collection) w.orWhere('g.collection = :collection', { collection: group.collection });
        if (cohort) w.orWhere('c.id IS NOT NULL');
      }))
      .orderBy('g.id', 'ASC')
      .setLock('pessimistic_write');
    const locked = await qb.getMany();
    const siblings = locked.filter((g) => g.id !== group.id);
    if (siblings.length) {
      const criteria = await manager.find(Criterion, { where: { groupId: In(siblings.map((g) => g.id)) } });
      for (const g of siblings) g.criteria = criteria.filter((c) => c.groupId === g.id);
    }
    return siblings;
  }

  private async deactivate(manager: EntityManager, group: UserGroup, userId: number, ctx: ChangeContext, movedToGroupId: string | null): Promise<RemoveResult> {
    return (await this.deactivateMany(manager, group, [userId], ctx, movedToGroupId)).get(userId)!;
  }

  /** Ends active memberships, a thousand at a time: one locking read, one update, multi-row audit and events. */
  private async deactivateMany(
    manager: EntityManager, group: UserGroup, userIds: number[], ctx: ChangeContext, movedToGroupId: string | null,
  ): Promise<Map<number, RemoveResult>> {
    const results = new Map<number, RemoveResult>(userIds.map((id) => [id, 'not_member']));
    // Only a cohort-linked group has a sync state. A change from the LMS, or a move into another
    // cohort-linked group (the LMS moves the learner itself), leaves nothing pending.
    const movedByLms = movedToGroupId !== null && (await manager.count(Criterion, { where: { groupId: movedToGroupId, type: LEGACY_COHORT } })) > 0;
    const syncState = !cohortLink(group) ? null : ctx.origin === 'legacy' || movedByLms ? 'synced' : 'pending';
    for (let i = 0; i < userIds.length; i += BATCH) {
      const members = await manager.find(Membership, {
        where: { groupId: group.id, userId: In(userIds.slice(i, i + BATCH)), active: true }, lock: { mode: 'pessimistic_write' },
      });
      if (!members.length) continue;
      await manager.update(Membership, { id: In(members.map((m) => m.id)) }, { active: false, leftAt: ctx.at, changedAt: ctx.at, origin: ctx.origin, syncState, syncError: null });
      await appendAuditMany(manager, ctx, group.id, 'member_removed', members.map((m) => ({ userId: m.userId, details: { origin: ctx.origin, moved_to_group_id: movedToGroupId } })));
      await this.outbox.appendMany(manager, EventType.UserGroupMembershipChanged, members.map((m) => this.membershipEvent(group, m, 'removed', ctx, movedToGroupId)), ctx);
      for (const m of members) results.set(m.userId, 'removed');
    }
    return results;
  }

  private membershipEvent(group: UserGroup, m: Pick<Membership, 'userId' | 'username'>, action: 'added' | 'removed', ctx: ChangeContext, movedTo: string | null) {
    return {
      membership: {
        group_id: group.id, scope_type: group.scopeType, scope_key: group.scopeKey, user_id: m.userId, username: m.username,
        action, origin: ctx.origin, occurred_at: toCeTime(ctx.at), moved_to_group_id: movedTo,
      },
    };
  }
}

function describe<R extends string>(ref: UserLookup, resolution: UserResolution, outcome: Map<number, R>): MemberResult<R | 'unknown' | 'refused'> {
  const email = ref.email !== undefined ? { email: ref.email } : {};
  if (resolution.status === 'found') {
    return { user_id: resolution.account.id, username: resolution.account.username || ref.username || null, ...email, result: outcome.get(resolution.account.id)! };
  }
  const given = { user_id: ref.user_id ?? null, username: ref.username ?? null, ...email };
  return resolution.status === 'unknown' ? { ...given, result: 'unknown' } : { ...given, result: 'refused', reason: resolution.reason };
}

function dedupe(users: UserRef[]): UserRef[] {
  const seen = new Map<number, UserRef>();
  for (const u of users) if (!seen.has(u.user_id)) seen.set(u.user_id, u);
  return [...seen.values()];
}
