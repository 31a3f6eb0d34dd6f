import { EntityManager } from 'typeorm';
import { ChangeContext } from './change-context';

export async function appendAudit(
  manager: EntityManager, ctx: ChangeContext, groupId: string, action: string, details: Record<string, unknown> = {}, userId: number | null = null,
): Promise<void> {
  await appendAuditMany(manager, ctx, groupId, action, [{ userId, details }]);
}

/** One audit row per user, in multi-row inserts (plain SQL: cheaper than TypeORM's builder for bulk writes). */
export async function appendAuditMany(
  manager: EntityManager, ctx: ChangeContext, groupId: string, action: string, entries: Array<{ userId: number | null; details?: Record<string, unknown> }>,
): Promise<void> {
  for (let i = 0; i < entries.length; i += 1000) {
    await manager.query('INSERT INTO audit_event (group_id, user_id, action, actor, `trigger`, correlation_id, details, `at`) VALUES ?', [
      entries.slice(i, i + 1000).map((e) => [groupId, e.userId, action, ctx.actor, ctx.trigger, ctx.correlationId ?? null, JSON.stringify(e.details ?? {}), ctx.at]),
    ]);
  }
}
