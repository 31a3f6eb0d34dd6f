import { EntityManager } from 'typeorm';

/** Which of these users were retired (`retired_user`): they join no group and are not cached again. */
export async function retiredAmong(manager: EntityManager, userIds: number[]): Promise<Set<number>> {
  if (!userIds.length) return new Set();
  const rows: Array<{ user_id: string | number }> = await manager.query(
    'SELECT user_id FROM retired_user WHERE user_id IN (?)',
    [userIds],
  );
  return new Set(rows.map((r) => Number(r.user_id)));
}
