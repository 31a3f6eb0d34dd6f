import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ScopeType } from '@groups-sync/contracts';
import { UserGroup } from '../groups/user-group.entity';
import { Membership } from './membership.entity';

/** Reads of memberships for the API. Callers load (and authorize) the group first. */
@Injectable()
export class MembershipQueries {
  constructor(private readonly dataSource: DataSource) {}

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

  /** Scope of each live group among `ids` (unknown and deleted ones left out). */
  async groupScopes(ids: string[]): Promise<Array<{ id: string; scope_type: ScopeType; scope_key: string }>> {
    return this.dataSource.query('SELECT id, scope_type, scope_key FROM user_group WHERE id IN (?) AND deleted_at IS NULL', [ids]);
  }

  /**
   * One page of the memberships of the groups, in (group, user) order after `after`, with what
   * reconciliation needs to judge them; times in ISO 8601 (formatted by the database: reconciliation
   * reads a million rows a run, and dates are the cost).
   */
  async syncStates(groupIds: string[], status: 'active' | 'all', after: { groupId: string; userId: number } | null, limit: number) {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT group_id, user_id, username, active, origin, sync_state,
         DATE_FORMAT(changed_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS changed_at, DATE_FORMAT(legacy_observed_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS legacy_observed_at
       FROM membership WHERE group_id IN (?) ${status === 'active' ? 'AND active = 1' : ''}
         ${after ? 'AND (group_id > ? OR (group_id = ? AND user_id > ?))' : ''}
       ORDER BY group_id, user_id LIMIT ?`,
      [groupIds, ...(after ? [after.groupId, after.groupId, after.userId] : []), limit]);
    return rows.map((r) => ({
      group_id: r.group_id as string, user_id: Number(r.user_id), username: r.username as string, active: !!r.active, origin: r.origin as string,
      sync_state: (r.sync_state as string | null) ?? null, changed_at: r.changed_at as string, legacy_observed_at: (r.legacy_observed_at as string | null) ?? null,
    }));
  }
}
