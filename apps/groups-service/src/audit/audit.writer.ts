import { EntityManager } from 'typeorm';
import { AuditEvent } from './audit-event.entity';
import { ChangeContext } from './change-context';

export async function appendAudit(
  manager: EntityManager, ctx: ChangeContext, groupId: string, action: string, details: Record<string, unknown> = {}, userId: number | null = null,
): Promise<void> {
  await appendAuditMany(manager, ctx, groupId, action, [{ userId, details }]);
}

/** One audit row per user, in one multi-row insert. */
export async function appendAuditMany(
  manager: EntityManager, ctx: ChangeContext, groupId: string, action: string, entries: Array<{ userId: number | null; details?: Record<string, unknown> }>,
): Promise<void> {
  if (!entries.length) return;
  await manager.insert(AuditEvent, entries.map((e) => ({
    groupId, userId: e.userId, action, actor: ctx.actor, trigger: ctx.trigger, correlationId: ctx.correlationId ?? null, details: (e.details ?? {}) as never, at: ctx.at,
  })));
}
