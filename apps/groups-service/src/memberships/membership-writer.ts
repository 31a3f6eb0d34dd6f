import { Injectable } from '@nestjs/common';
import { Brackets, EntityManager, In } from 'typeorm';
import { EventType, MembershipOrigin, toCeTime } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { isDuplicateKeyError, retiredAmong } from '@groups-sync/persistence';
import { appendAuditMany } from '../audit/audit.writer';
import { ChangeContext } from '../audit/change-context';
import { Criterion } from '../groups/criterion.entity';
import { cohortLink, LEGACY_COHORT, writesToLegacyGroup } from '../groups/legacy-link';
import { UserGroup } from '../groups/user-group.entity';
import { SyncState } from './membership.entity';
import { MemberRow, MembershipRepository } from './membership.repository';

export type { MemberRow } from './membership.repository';

export type AddResult = 'added' | 'already_member' | 'unknown' | 'refused';
export type RemoveResult = 'removed' | 'not_member' | 'unknown' | 'refused';
export interface UserRef {
  user_id: number;
  username: string;
}

/** Users handled per locking read and multi-row insert. */
const BATCH = 1000;
/** Users handled per insert when the caller read and locked their rows (an evaluation run's chunk). */
const KNOWN_BATCH = 10_000;

/**
 * The write core every membership change goes through: API adds and removals, LMS observations,
 * sync results and evaluation snapshots. One lock order everywhere: the rows of the group and of
 * its exclusive siblings (`lockGroups`, in id order), then membership rows. Each change writes its
 * audit rows and outbox events in the caller's transaction, many rows per statement.
 */
@Injectable()
export class MembershipWriter {
  constructor(
    private readonly outbox: OutboxWriter,
    private readonly memberships: MembershipRepository,
  ) {}

  /**
   * Locks these groups' rows in id order, with their exclusive siblings: the same named collection
   * in the same scope, and for a cohort-linked group the course's other cohort-linked groups (the
   * LMS keeps one cohort per learner and course). Answers every locked group with its criteria.
   * Siblings are read again once the rows are locked: a group moved into the collection since the
   * first read (PATCH) is locked too, so no writer misses a sibling.
   */
  async lockGroups(manager: EntityManager, groups: UserGroup[]): Promise<Map<string, UserGroup>> {
    const requested = new Set(groups.map((g) => g.id));
    const ids = new Set([...requested, ...(await this.siblingIds(manager, groups))]);
    for (;;) {
      const locked = await manager.find(UserGroup, {
        where: { id: In([...ids]) },
        order: { id: 'ASC' },
        lock: { mode: 'pessimistic_write' },
      });
      const criteria = await manager.find(Criterion, {
        where: { groupId: In(locked.map((g) => g.id)) },
        order: { position: 'ASC' },
      });
      for (const g of locked) g.criteria = criteria.filter((c) => c.groupId === g.id);
      const missing = [
        ...(await this.siblingIds(
          manager,
          locked.filter((g) => requested.has(g.id) && !g.deletedAt),
        )),
      ].filter((id) => !ids.has(id));
      if (!missing.length) return new Map(locked.filter((g) => !g.deletedAt).map((g) => [g.id, g]));
      for (const id of missing) ids.add(id);
    }
  }

  /**
   * The live groups exclusive with these: the same collection in the same scope, the course's
   * cohort-linked groups for a cohort-linked one. One query per distinct scope, collection and
   * cohort link (a batch's groups are mostly the cohorts of one course).
   */
  private async siblingIds(manager: EntityManager, groups: UserGroup[]): Promise<Set<string>> {
    const ids = new Set<string>();
    const sets = new Map<string, { scopeType: string; scopeKey: string; collection: string | null; cohort: boolean }>();
    for (const group of groups) {
      const cohort = cohortLink(group) !== null;
      if (!cohort && !group.collection) continue;
      sets.set(JSON.stringify([group.scopeType, group.scopeKey, group.collection ?? null, cohort]), {
        scopeType: group.scopeType,
        scopeKey: group.scopeKey,
        collection: group.collection ?? null,
        cohort,
      });
    }
    for (const { scopeType, scopeKey, collection, cohort } of sets.values()) {
      const qb = manager
        .createQueryBuilder(UserGroup, 'g')
        .select('g.id', 'id')
        .leftJoin(Criterion, 'c', 'c.group_id = g.id AND c.type = :cohortType', { cohortType: LEGACY_COHORT })
        .where('g.scope_type = :scopeType AND g.scope_key = :scopeKey AND g.deleted_at IS NULL', {
          scopeType,
          scopeKey,
        })
        .andWhere(
          new Brackets((w) => {
            if (collection) w.orWhere('g.collection = :collection', { collection });
            if (cohort) w.orWhere('c.id IS NOT NULL');
          }),
        );
      for (const row of await qb.getRawMany<{ id: string }>()) ids.add(row.id);
    }
    return ids;
  }

  /** `lockGroups` for groups known by id (with their criteria read first). */
  async lockGroupsById(manager: EntityManager, ids: string[]): Promise<Map<string, UserGroup>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const groups = await manager.find(UserGroup, { where: { id: In(unique) } });
    const criteria = groups.length
      ? await manager.find(Criterion, { where: { groupId: In(groups.map((g) => g.id)) } })
      : [];
    for (const g of groups) g.criteria = criteria.filter((c) => c.groupId === g.id);
    return this.lockGroups(
      manager,
      groups.filter((g) => !g.deletedAt),
    );
  }

  /** The groups a member of `group` leaves on joining it, among those `lockGroups` answered. */
  exclusiveSiblings(group: UserGroup, locked: Map<string, UserGroup>): UserGroup[] {
    const cohort = cohortLink(group) !== null;
    return [...locked.values()].filter(
      (g) =>
        g.id !== group.id &&
        g.scopeType === group.scopeType &&
        g.scopeKey === group.scopeKey &&
        ((!!group.collection && g.collection === group.collection) || (cohort && cohortLink(g) !== null)),
    );
  }

  /**
   * Makes users active members, a thousand at a time: one locking read, one update for the
   * reactivated, multi-row inserts for new memberships, audit rows and events, and one removal per
   * exclusive sibling the users leave. Locks the group and its siblings first, unless the caller did;
   * `known` holds every existing row of these users, locked by the caller (a user it lacks has none), which saves the per-batch read.
   */
  async activateMany(
    manager: EntityManager,
    group: UserGroup,
    users: UserRef[],
    ctx: ChangeContext,
    syncState?: 'synced',
    locked?: Map<string, UserGroup>,
    known?: Map<number, MemberRow>,
  ): Promise<Array<UserRef & { result: AddResult }>> {
    locked ??= await this.lockGroups(manager, [group]);
    const siblings = this.exclusiveSiblings(group, locked);
    const state: SyncState | null = syncState ?? (writesToLegacyGroup(group) ? 'pending' : null);
    const results = new Map<number, AddResult>();
    // With the rows known there is no locking read per batch: larger batches, fewer statements.
    const size = known ? KNOWN_BATCH : BATCH;
    for (let i = 0; i < users.length; i += size) {
      // A retired user joins no group again, whichever way the add came (API, LMS, evaluation).
      const retired = await retiredAmong(
        manager,
        users.slice(i, i + size).map((u) => u.user_id),
      );
      for (const id of retired) results.set(id, 'refused');
      const batch = users.slice(i, i + size).filter((u) => !retired.has(u.user_id));
      const existing =
        known ??
        new Map(
          (
            await this.memberships.lockMembers(
              manager,
              [group.id],
              batch.map((u) => u.user_id),
            )
          ).map((m) => [m.userId, m]),
        );
      const added: UserRef[] = [];
      const fresh: UserRef[] = [];
      const reactivated: MemberRow[] = [];
      const confirmed: string[] = [];
      for (const user of batch) {
        const current = existing.get(user.user_id);
        if (current?.active) {
          results.set(user.user_id, 'already_member');
          if (syncState && (current.syncState !== syncState || current.syncError)) confirmed.push(current.id);
        } else if (current) {
          // A username the LMS changed since is kept up to date; the rest go in one update below.
          if (current.username !== user.username) await this.memberships.rename(manager, current.id, user.username);
          reactivated.push(current);
          added.push(user);
        } else {
          fresh.push(user);
        }
      }
      if (syncState) await this.memberships.confirm(manager, confirmed, syncState);
      await this.memberships.reactivate(
        manager,
        reactivated.map((m) => m.id),
        ctx,
        state,
      );
      if (fresh.length) {
        try {
          await this.memberships.insertActive(manager, group.id, fresh, ctx, state);
          added.push(...fresh);
        } catch (error) {
          // Only without the group lock (a plain group) can another add have inserted some first.
          if (!isDuplicateKeyError(error)) throw error;
          for (const u of fresh) {
            try {
              await this.memberships.insertActive(manager, group.id, [u], ctx, state);
              added.push(u);
            } catch (rowError) {
              if (!isDuplicateKeyError(rowError)) throw rowError;
              results.set(u.user_id, 'already_member');
            }
          }
        }
      }
      for (const user of added) results.set(user.user_id, 'added');
      await appendAuditMany(
        manager,
        ctx,
        group.id,
        'member_added',
        added.map((u) => u.user_id),
        { origin: ctx.origin },
      );
      await this.appendEvents(
        manager,
        this.membershipEvents(
          group,
          added.map((u) => ({ userId: u.user_id, username: u.username })),
          'added',
          ctx,
          null,
        ),
        ctx,
      );
      if (siblings.length && added.length) {
        const elsewhere = await this.memberships.lockMembers(
          manager,
          siblings.map((g) => g.id),
          added.map((u) => u.user_id),
          true,
        );
        for (const sibling of siblings) {
          const leaving = elsewhere.filter((m) => m.groupId === sibling.id).map((m) => m.userId);
          if (leaving.length) await this.deactivateMany(manager, sibling, leaving, ctx, group);
        }
      }
    }
    return users.map((u) => ({ ...u, result: results.get(u.user_id)! }));
  }

  /**
   * Ends active memberships, a thousand at a time: one locking read, one update, multi-row audit
   * and events. `movedTo` is the group they join instead (the other half of a move). The caller
   * holds the group's lock (`lockGroups`) when other writers may add to its siblings.
   */
  async deactivateMany(
    manager: EntityManager,
    group: UserGroup,
    userIds: number[],
    ctx: ChangeContext,
    movedTo: UserGroup | null,
  ): Promise<Map<number, RemoveResult>> {
    const results = new Map<number, RemoveResult>(userIds.map((id) => [id, 'not_member']));
    // Only a cohort-linked group has a sync state. A change from the LMS (an event, or a difference
    // reconciliation found there), a retirement (the LMS retires its side itself), or a move into
    // another cohort-linked group (the LMS moves the learner itself), leaves nothing pending.
    const movedByLms = movedTo !== null && cohortLink(movedTo) !== null;
    const syncState = !writesToLegacyGroup(group)
      ? null
      : isFromTheLms(ctx.origin) || ctx.origin === 'retirement' || movedByLms
        ? 'synced'
        : 'pending';
    for (let i = 0; i < userIds.length; i += BATCH) {
      const members = await this.memberships.lockMembers(manager, [group.id], userIds.slice(i, i + BATCH), true);
      if (!members.length) continue;
      await this.memberships.deactivate(
        manager,
        members.map((m) => m.id),
        ctx,
        syncState,
      );
      await appendAuditMany(
        manager,
        ctx,
        group.id,
        'member_removed',
        members.map((m) => m.userId),
        { origin: ctx.origin, moved_to_group_id: movedTo?.id ?? null },
      );
      await this.appendEvents(manager, this.membershipEvents(group, members, 'removed', ctx, movedTo?.id ?? null), ctx);
      for (const m of members) results.set(m.userId, 'removed');
    }
    return results;
  }

  private async appendEvents(
    manager: EntityManager,
    events: Array<ReturnType<MembershipWriter['membershipEvent']>>,
    ctx: ChangeContext,
  ): Promise<void> {
    if (ctx.packEvents) await this.outbox.appendPacked(manager, EventType.UserGroupMembershipChanged, events, ctx);
    else await this.outbox.appendMany(manager, EventType.UserGroupMembershipChanged, events, ctx);
  }

  membershipEvent(
    group: UserGroup,
    m: Pick<MemberRow, 'userId' | 'username'>,
    action: 'added' | 'removed',
    ctx: ChangeContext,
    movedTo: string | null,
  ) {
    return this.membershipEvents(group, [m], action, ctx, movedTo)[0];
  }

  /** The `membership.changed` events of one change to many members (what they share worked out once). */
  private membershipEvents(
    group: UserGroup,
    members: Array<Pick<MemberRow, 'userId' | 'username'>>,
    action: 'added' | 'removed',
    ctx: ChangeContext,
    movedTo: string | null,
  ) {
    const occurredAt = toCeTime(ctx.at);
    // Criteria not loaded means "not known here": legacy-sync then looks the link up.
    const legacyLinked = group.criteria === undefined || group.criteria.some((c) => c.type.startsWith('legacy_'));
    return members.map((m) => ({
      membership: {
        group_id: group.id,
        scope_type: group.scopeType,
        scope_key: group.scopeKey,
        user_id: m.userId,
        username: m.username,
        action,
        origin: ctx.origin,
        occurred_at: occurredAt,
        moved_to_group_id: movedTo,
        legacy_linked: legacyLinked,
      },
    }));
  }
}

/** Changes that describe what the LMS already holds: nothing to write back there. */
export function isFromTheLms(origin: MembershipOrigin): boolean {
  return origin === 'legacy' || origin === 'reconciliation';
}
