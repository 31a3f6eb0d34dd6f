import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { MembershipOrigin } from '@groups-sync/contracts';
import { insertJsonRows, Replacement, scrubRows } from '@groups-sync/persistence';
import { UserGroup } from '../groups/user-group.entity';
import { Membership, SyncState } from './membership.entity';

/** A membership row as the writers read it (plain SQL: bulk writes read thousands of rows). */
export interface MemberRow {
  id: string;
  groupId: string;
  userId: number;
  username: string;
  active: boolean;
  syncState: SyncState | null;
  syncError: string | null;
  changedAt: Date;
  legacyObservedAt: Date | null;
  supersededByGroupId: string | null;
  origin: string;
}

/** One membership's LMS register to move forward; `supersededBy` undefined leaves the stored value, null clears it. */
export interface ObservedAtEntry {
  groupId: string;
  userId: number;
  at: Date;
  supersededBy?: string | null;
}

/** When and why a change happened, as a membership row records it. */
export interface RowChange {
  at: Date;
  origin: MembershipOrigin;
}

const MEMBER_COLUMNS =
  'id, group_id, user_id, username, active, origin, sync_state, sync_error, changed_at, legacy_observed_at, superseded_by_group_id';
/** Rows per statement of the observation register's update. */
const OBSERVED_AT_BATCH = 500;

function toMemberRow(r: Record<string, unknown>): MemberRow {
  return {
    id: String(r.id),
    groupId: String(r.group_id),
    userId: Number(r.user_id),
    username: String(r.username),
    active: !!r.active,
    syncState: (r.sync_state as SyncState | null) ?? null,
    syncError: (r.sync_error as string | null) ?? null,
    changedAt: r.changed_at as Date,
    legacyObservedAt: (r.legacy_observed_at as Date | null) ?? null,
    supersededByGroupId: (r.superseded_by_group_id as string | null) ?? null,
    origin: String(r.origin),
  };
}

/**
 * Every query of the `membership` table. Writes and locking reads take the caller's transaction
 * (`manager`); the API's reads run on their own. Rules (who joins, which observation wins) live in
 * the callers; this class only reads and writes rows, many per statement.
 */
@Injectable()
export class MembershipRepository {
  constructor(private readonly dataSource: DataSource) {}

  // --- Reads for the API (callers load and authorize the group first) ---

  async list(
    groupId: string,
    status: 'active' | 'all',
    offset: number,
    limit: number,
    search?: string,
  ): Promise<{ count: number; members: Membership[] }> {
    const query = this.dataSource
      .getRepository(Membership)
      .createQueryBuilder('m')
      .where('m.group_id = :groupId', { groupId })
      .orderBy('m.user_id', 'ASC')
      .skip(offset)
      .take(limit);
    if (status === 'active') query.andWhere('m.active = 1');
    if (search) {
      // Within the group's rows (its key's prefix): a username prefix, or an email the directory knows.
      const prefix = `${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query.andWhere(
        '(m.username LIKE :prefix OR m.user_id IN (SELECT a.id FROM user_account a WHERE a.email = :email))',
        { prefix, email: search },
      );
    }
    const [members, count] = await query.getManyAndCount();
    return { count, members };
  }

  /** One page of the CSV export, keyed on user id so that a large group streams in constant memory. */
  async exportPage(groupId: string, status: 'active' | 'all', afterUserId: number, limit: number) {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT m.user_id, m.username, a.email, m.active, m.origin, m.joined_at, m.left_at, m.sync_state
       FROM membership m LEFT JOIN user_account a ON a.id = m.user_id
       WHERE m.group_id = ? AND m.user_id > ? ${status === 'active' ? 'AND m.active = 1' : ''} ORDER BY m.user_id LIMIT ?`,
      [groupId, afterUserId, limit],
    );
    return rows.map((r) => ({
      user_id: Number(r.user_id),
      username: String(r.username),
      email: (r.email as string | null) ?? null,
      active: !!r.active,
      origin: String(r.origin),
      joined_at: r.joined_at as Date,
      left_at: (r.left_at as Date | null) ?? null,
      sync_state: (r.sync_state as string | null) ?? null,
    }));
  }

  /** For a page of groups: active members, and memberships waiting for or refused by the LMS. */
  async countsOf(groupIds: string[]): Promise<Map<string, { members: number; pending: number; rejected: number }>> {
    if (!groupIds.length) return new Map();
    const rows: Array<{ group_id: string; members: string; pending: string; rejected: string }> =
      await this.dataSource.query(
        `SELECT group_id, SUM(active) AS members, SUM(sync_state = 'pending') AS pending,
                SUM(sync_state = 'rejected') AS rejected
         FROM membership WHERE group_id IN (?) GROUP BY group_id`,
        [groupIds],
      );
    return new Map(
      rows.map((r) => [
        r.group_id,
        { members: Number(r.members), pending: Number(r.pending), rejected: Number(r.rejected) },
      ]),
    );
  }

  /** Pending, synced and rejected counts of a legacy group's memberships, with the last error. */
  async syncStatus(groupId: string) {
    const rows: Array<{ state: string | null; n: string }> = await this.dataSource.query(
      'SELECT sync_state AS state, COUNT(*) AS n FROM membership WHERE group_id = ? GROUP BY sync_state',
      [groupId],
    );
    const count = (state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
    const [last] = await this.dataSource.query(
      `SELECT user_id, sync_error, changed_at FROM membership WHERE group_id = ? AND sync_state = 'rejected' ORDER BY changed_at DESC LIMIT 1`,
      [groupId],
    );
    return {
      pending: count('pending'),
      synced: count('synced'),
      rejected: count('rejected'),
      last_error: last ? { user_id: Number(last.user_id), error: last.sync_error, at: last.changed_at } : null,
    };
  }

  /** Every group a user is in: served by the (user_id, active, group_id) index. */
  async groupsOfUser(
    userId: number,
    scopeType?: string,
    scopeKey?: string,
  ): Promise<Array<{ group: UserGroup; membership: Membership }>> {
    const qb = this.dataSource
      .getRepository(Membership)
      .createQueryBuilder('m')
      .innerJoinAndMapOne('m.group', UserGroup, 'g', 'g.id = m.group_id AND g.deleted_at IS NULL')
      .where('m.user_id = :userId AND m.active = 1', { userId });
    if (scopeType) qb.andWhere('g.scope_type = :scopeType', { scopeType });
    if (scopeKey !== undefined) qb.andWhere('g.scope_key = :scopeKey', { scopeKey });
    const rows = (await qb.orderBy('g.name', 'ASC').limit(1000).getMany()) as Array<Membership & { group: UserGroup }>;
    return rows.map((m) => ({ group: m.group, membership: m }));
  }

  /**
   * One page of the memberships of the groups, in (group, user) order after `after`, with what
   * reconciliation needs to judge them; times in ISO 8601 (formatted by the database: reconciliation
   * reads a million rows a run, and dates are the cost).
   */
  async syncStates(
    groupIds: string[],
    status: 'active' | 'all',
    after: { groupId: string; userId: number } | null,
    limit: number,
  ) {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT group_id, user_id, username, active, origin, sync_state,
         DATE_FORMAT(changed_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS changed_at, DATE_FORMAT(legacy_observed_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS legacy_observed_at
       FROM membership WHERE group_id IN (?) ${status === 'active' ? 'AND active = 1' : ''}
         ${after ? 'AND (group_id > ? OR (group_id = ? AND user_id > ?))' : ''}
       ORDER BY group_id, user_id LIMIT ?`,
      [groupIds, ...(after ? [after.groupId, after.groupId, after.userId] : []), limit],
    );
    return rows.map((r) => ({
      group_id: r.group_id as string,
      user_id: Number(r.user_id),
      username: r.username as string,
      active: !!r.active,
      origin: r.origin as string,
      sync_state: (r.sync_state as string | null) ?? null,
      changed_at: r.changed_at as string,
      legacy_observed_at: (r.legacy_observed_at as string | null) ?? null,
    }));
  }

  /** Which of these users are active members of the group (a dry run's answer). */
  async activeAmong(groupId: string, userIds: number[]): Promise<Set<number>> {
    const rows = await this.dataSource
      .getRepository(Membership)
      .find({ select: { userId: true }, where: { groupId, userId: In(userIds), active: true } });
    return new Set(rows.map((m) => m.userId));
  }

  /** The username each of these users has on their row in the group (present or past members). */
  async usernamesIn(groupId: string, userIds: number[]): Promise<Map<number, string>> {
    const rows: Array<{ user_id: string; username: string }> = await this.dataSource.query(
      'SELECT user_id, username FROM membership WHERE group_id = ? AND user_id IN (?)',
      [groupId, userIds],
    );
    return new Map(rows.map((r) => [Number(r.user_id), r.username]));
  }

  /**
   * How many active members of `groupId` are active in one of `otherIds`, and up to `limit` of them
   * with the other group (user, then group order).
   */
  async overlap(
    manager: EntityManager,
    groupId: string,
    otherIds: string[],
    limit: number,
  ): Promise<{ count: number; examples: Array<{ user_id: number; group_id: string }> }> {
    const overlap =
      'FROM membership m JOIN membership o ON o.user_id = m.user_id AND o.active = 1 AND o.group_id IN (?) WHERE m.group_id = ? AND m.active = 1';
    const [{ n }] = await manager.query(`SELECT COUNT(DISTINCT m.user_id) AS n ${overlap}`, [otherIds, groupId]);
    const count = Number(n);
    if (!count) return { count, examples: [] };
    const examples: Array<{ user_id: string; group_id: string }> = await manager.query(
      `SELECT o.user_id, o.group_id ${overlap} ORDER BY o.user_id, o.group_id LIMIT ?`,
      [otherIds, groupId, limit],
    );
    return { count, examples: examples.map((e) => ({ user_id: Number(e.user_id), group_id: e.group_id })) };
  }

  // --- Locking reads (the writers' lock order: group rows first, then these) ---

  /** Reads and locks the memberships of these users in these groups (only active ones if asked). */
  async lockMembers(
    manager: EntityManager,
    groupIds: string[],
    userIds: number[],
    activeOnly = false,
  ): Promise<MemberRow[]> {
    if (!groupIds.length || !userIds.length) return [];
    const rows: Array<Record<string, unknown>> = await manager.query(
      `SELECT ${MEMBER_COLUMNS} FROM membership WHERE group_id IN (?) AND user_id IN (?)${activeOnly ? ' AND active = 1' : ''} ORDER BY id FOR UPDATE`,
      [groupIds, userIds],
    );
    return rows.map(toMemberRow);
  }

  /**
   * Which users of one group, with ids in (above, upTo] (upTo null: every id above), have a
   * membership row, and whether it is active; the rows are locked. Only two columns: a refresh
   * reads every row of the group this way, range by range, and rewrites few of them.
   */
  async lockMemberRange(
    manager: EntityManager,
    groupId: string,
    above: number,
    upTo: number | null,
  ): Promise<Map<number, boolean>> {
    const rows: Array<{ user_id: string | number; active: number }> = await manager.query(
      `SELECT user_id, active FROM membership WHERE group_id = ? AND user_id > ?${upTo === null ? '' : ' AND user_id <= ?'} ORDER BY user_id FOR UPDATE`,
      upTo === null ? [groupId, above] : [groupId, above, upTo],
    );
    return new Map(rows.map((r) => [Number(r.user_id), !!r.active]));
  }

  /** Waits for the writers holding any of this user's rows to commit (a shared lock, released with the transaction). */
  async waitForWritersOf(manager: EntityManager, userId: number): Promise<void> {
    await manager.query('SELECT group_id FROM membership WHERE user_id = ? LOCK IN SHARE MODE', [userId]);
  }

  /** Every group the user is or was in. */
  async groupIdsOf(manager: EntityManager, userId: number, activeOnly = false): Promise<string[]> {
    const rows: Array<{ id: string }> = await manager.query(
      `SELECT DISTINCT group_id AS id FROM membership WHERE user_id = ?${activeOnly ? ' AND active = 1' : ''}`,
      [userId],
    );
    return rows.map((r) => r.id);
  }

  /** Every username the user's rows carry. */
  async usernamesOf(userId: number): Promise<string[]> {
    const rows: Array<{ username: string }> = await this.dataSource.query(
      'SELECT DISTINCT username FROM membership WHERE user_id = ?',
      [userId],
    );
    return rows.map((r) => r.username);
  }

  // --- Writes, in the caller's transaction ---

  /** New active memberships, one statement for all of them. */
  async insertActive(
    manager: EntityManager,
    groupId: string,
    users: Array<{ user_id: number; username: string }>,
    change: RowChange,
    state: SyncState | null,
  ): Promise<void> {
    await insertJsonRows(
      manager,
      'membership',
      {
        group_id: groupId,
        active: 1,
        joined_at: change.at,
        origin: change.origin,
        changed_at: change.at,
        sync_state: state,
      },
      [
        ['user_id', 'BIGINT'],
        ['username', 'TEXT'],
      ],
      users.map((u) => [u.user_id, u.username]),
    );
  }

  /** Former members back in, on their own rows. */
  async reactivate(manager: EntityManager, ids: string[], change: RowChange, state: SyncState | null): Promise<void> {
    if (!ids.length) return;
    await manager.query(
      'UPDATE membership SET active = 1, joined_at = ?, left_at = NULL, origin = ?, changed_at = ?, sync_state = ?, sync_error = NULL, superseded_by_group_id = NULL WHERE id IN (?)',
      [change.at, change.origin, change.at, state, ids],
    );
  }

  /** Memberships leave, with the sync state their removal starts in. */
  async deactivate(manager: EntityManager, ids: string[], change: RowChange, state: SyncState | null): Promise<void> {
    if (!ids.length) return;
    await manager.query(
      'UPDATE membership SET active = 0, left_at = ?, changed_at = ?, origin = ?, sync_state = ?, sync_error = NULL, superseded_by_group_id = NULL WHERE id IN (?)',
      [change.at, change.at, change.origin, state, ids],
    );
  }

  /** Ends a user's membership of a deleted group: the row only (nothing is published for it). */
  async endRow(manager: EntityManager, groupId: string, userId: number, change: RowChange): Promise<void> {
    await manager.query(
      'UPDATE membership SET active = 0, left_at = ?, changed_at = ?, origin = ? WHERE group_id = ? AND user_id = ?',
      [change.at, change.at, change.origin, groupId, userId],
    );
  }

  /** The LMS confirmed these memberships (or holds them as they are): the state, no error, no move set aside. */
  async confirm(manager: EntityManager, ids: string[], state: SyncState): Promise<void> {
    if (!ids.length) return;
    await manager.query(
      'UPDATE membership SET sync_state = ?, sync_error = NULL, superseded_by_group_id = NULL WHERE id IN (?)',
      [state, ids],
    );
  }

  /** The LMS refused a write for good: the reason kept, and with `revertAt` the membership ended (origin `legacy`). */
  async reject(manager: EntityManager, id: string, error: string, revertAt: Date | null): Promise<void> {
    await manager.query(
      revertAt
        ? `UPDATE membership SET sync_state = 'rejected', sync_error = ?, active = 0, left_at = ?, changed_at = ?, origin = 'legacy' WHERE id = ?`
        : `UPDATE membership SET sync_state = 'rejected', sync_error = ? WHERE id = ?`,
      revertAt ? [error, revertAt, revertAt, id] : [error, id],
    );
  }

  /** A username the LMS changed since. */
  async rename(manager: EntityManager, id: string, username: string): Promise<void> {
    await manager.query('UPDATE membership SET username = ? WHERE id = ?', [username, id]);
  }

  /** A retired user's name on all their rows, and their identifiers out of the sync errors. */
  async retireUser(
    manager: EntityManager,
    userId: number,
    username: string,
    replacements: Replacement[],
  ): Promise<void> {
    await manager.query('UPDATE membership SET username = ? WHERE user_id = ?', [username, userId]);
    await scrubRows(
      manager,
      {
        table: 'membership',
        key: 'id',
        where: { sql: 'user_id = ?', params: [userId] },
        columns: [{ name: 'sync_error', kind: 'text' }],
      },
      replacements,
    );
  }

  /**
   * Moves each membership's LMS register forward (never back: `GREATEST` holds the monotony, so an
   * entry decided on a stale read cannot undo a newer one), many rows per statement. Rows that do
   * not exist are left out (the join): a register is kept only on a membership.
   */
  async recordObservedAt(manager: EntityManager, entries: ObservedAtEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += OBSERVED_AT_BATCH) {
      const chunk = entries.slice(i, i + OBSERVED_AT_BATCH);
      await manager.query(
        `UPDATE membership m JOIN (${chunk.map(() => 'SELECT ? AS g, ? AS u, ? AS t, ? AS s, ? AS k').join(' UNION ALL ')}) v ON m.group_id = v.g AND m.user_id = v.u
         SET m.legacy_observed_at = GREATEST(COALESCE(m.legacy_observed_at, v.t), v.t), m.superseded_by_group_id = IF(v.k, v.s, m.superseded_by_group_id)`,
        chunk.flatMap((e) => [e.groupId, e.userId, e.at, e.supersededBy ?? null, e.supersededBy === undefined ? 0 : 1]),
      );
    }
  }
}
