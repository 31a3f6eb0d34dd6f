import { EntityManager } from 'typeorm';
import { AuditEvent } from './audit-event.entity';
import { ChangeContext } from './change-context';

export async function appendAudit(
  manager: EntityManager, ctx: ChangeContext, groupId: string, action: string, details: Record<string, unknown> = {}, userId: number | null = null,
): Promise<void> {
  await manager.insert(AuditEvent, {
    groupId, userId, action, actor: ctx.actor, trigger: ctx.trigger, correlationId: ctx.correlationId ?? null, details: details as never, at: ctx.at,
  });
}
