import { EntityManager } from 'typeorm';

/**
 * What a service keeps of deleted groups and retired users so that late or replayed messages change
 * nothing: each service's own `deleted_group` and `retired_user` tables (its migrations make them),
 * read and written the same way everywhere.
 */

/** Records a group's deletion, in the transaction that applies it; a later version wins. */
export async function recordGroupDeleted(manager: EntityManager, groupId: string, version: number): Promise<void> {
  await manager.query(
    'INSERT INTO deleted_group (group_id, version) VALUES (?, ?) ON DUPLICATE KEY UPDATE version = GREATEST(version, VALUES(version))',
    [groupId, version],
  );
}

/**
 * The version a group was deleted at when an event of `version` is no newer than the deletion (it
 * must change nothing), else null. `lock`: read for update, in the transaction that would apply it.
 */
export async function deletedAtOrAfter(
  manager: EntityManager,
  groupId: string,
  version: number,
  lock = false,
): Promise<number | null> {
  const [deleted] = (await manager.query(
    `SELECT version FROM deleted_group WHERE group_id = ?${lock ? ' FOR UPDATE' : ''}`,
    [groupId],
  )) as Array<{ version: number }>;
  return deleted && Number(deleted.version) >= version ? Number(deleted.version) : null;
}

/** Which of these users were retired (`retired_user`). */
export async function retiredAmong(manager: EntityManager, userIds: number[]): Promise<Set<number>> {
  if (!userIds.length) return new Set();
  const rows: Array<{ user_id: string | number }> = await manager.query(
    'SELECT user_id FROM retired_user WHERE user_id IN (?)',
    [[...new Set(userIds)]],
  );
  return new Set(rows.map((r) => Number(r.user_id)));
}

/** Records a retired user, by id only (Open edX keeps the id); again and again. */
export async function recordUserRetired(manager: EntityManager, userId: number): Promise<void> {
  await manager.query('INSERT IGNORE INTO retired_user (user_id) VALUES (?)', [userId]);
}
