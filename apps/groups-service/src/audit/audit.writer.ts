import { EntityManager } from 'typeorm';
import { insertJsonRows, JsonColumn } from '@groups-sync/persistence';
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
  const same: Record<string, unknown> = { group_id: groupId, action, actor: ctx.actor, trigger: ctx.trigger, correlation_id: ctx.correlationId ?? null, at: ctx.at };
  // Entries of one change usually share one details object: then it is bound once, not sent per row.
  const shared = entries.every((e) => e.details === entries[0]?.details);
  if (shared) same.details = JSON.stringify(entries[0]?.details ?? {});
  const columns: JsonColumn[] = shared ? [['user_id', 'BIGINT']] : [['user_id', 'BIGINT'], ['details', 'LONGTEXT']];
  for (let i = 0; i < entries.length; i += AUDIT_ROWS) {
    await insertJsonRows(manager, 'audit_event', same, columns,
      entries.slice(i, i + AUDIT_ROWS).map((e) => (shared ? [e.userId] : [e.userId, JSON.stringify(e.details ?? {})])));
  }
}
