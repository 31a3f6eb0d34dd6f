import { EntityManager } from 'typeorm';
import { insertJsonRows } from '@groups-sync/persistence';
import { ChangeContext } from './change-context';

export async function appendAudit(
  manager: EntityManager,
  ctx: ChangeContext,
  groupId: string,
  action: string,
  details: Record<string, unknown> = {},
  userId: number | null = null,
): Promise<void> {
  await appendAuditMany(manager, ctx, groupId, action, [userId], details);
}

const AUDIT_ROWS = 10_000;

/**
 * One audit row per user of one change, all with the same details: ten thousand rows to a
 * statement, the user ids as one JSON parameter and the rest bound once (bulk changes write 100,000).
 */
export async function appendAuditMany(
  manager: EntityManager,
  ctx: ChangeContext,
  groupId: string,
  action: string,
  userIds: Array<number | null>,
  details: Record<string, unknown> = {},
): Promise<void> {
  const same = {
    group_id: groupId,
    action,
    actor: ctx.actor,
    trigger: ctx.trigger,
    correlation_id: ctx.correlationId ?? null,
    at: ctx.at,
    details: JSON.stringify(details),
  };
  for (let i = 0; i < userIds.length; i += AUDIT_ROWS) {
    await insertJsonRows(
      manager,
      'audit_event',
      same,
      [['user_id', 'BIGINT']],
      userIds.slice(i, i + AUDIT_ROWS).map((id) => [id]),
    );
  }
}
