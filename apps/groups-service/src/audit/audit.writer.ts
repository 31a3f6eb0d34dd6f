import { EntityManager } from 'typeorm';
import { insertJsonRows } from '@groups-sync/persistence';
import { ChangeContext } from './change-context';

export async function appendAudit(
  manager: EntityManager, ctx: ChangeContext, groupId: string, action: string, details: Record<string, unknown> = {}, userId: number | null = null,
): Promise<void> {
  await appendAuditMany(manager, ctx, groupId, action, [{ userId, details }]);
}

const AUDIT_ROWS = 10_000;

/** One audit row per user, ten thousand to a statement (rows as one JSON parameter: bulk changes write 100,000). */
export async function appendAuditMany(
  manager: EntityManager, ctx: ChangeContext, groupId: string, action: string, entries: Array<{ userId: number | null; details?: Record<string, unknown> }>,
): Promise<void> {
  const same = { group_id: groupId, action, actor: ctx.actor, trigger: ctx.trigger, correlation_id: ctx.correlationId ?? null, at: ctx.at };
  // Entries of one change usually share their details object: written as text once.
  const texts = new Map<object | undefined, string>();
  const text = (details?: Record<string, unknown>) => texts.get(details) ?? texts.set(details, JSON.stringify(details ?? {})).get(details)!;
  for (let i = 0; i < entries.length; i += AUDIT_ROWS) {
    await insertJsonRows(manager, 'audit_event', same, [['user_id', 'BIGINT'], ['details', 'LONGTEXT']],
      entries.slice(i, i + AUDIT_ROWS).map((e) => [e.userId, text(e.details)]));
  }
}
