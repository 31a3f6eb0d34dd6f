import { toCeTime, UserGroupData } from '@groups-sync/contracts';
import { UserGroup } from './user-group.entity';

/** `evaluateNow`: the evaluator evaluates the dynamic group at once (see UserGroupData). */
export function userGroupData(
  group: UserGroup,
  changedBy: string | null,
  at: Date,
  evaluateNow = false,
  unlink = false,
): UserGroupData {
  return {
    user_group: {
      id: group.id,
      scope_type: group.scopeType,
      scope_key: group.scopeKey,
      name: group.name,
      description: group.description,
      kind: group.kind,
      enabled: group.enabled,
      version: group.version,
      criteria: [...(group.criteria ?? [])]
        .sort((a, b) => a.position - b.position)
        .map((c) => ({
          type: c.type,
          operator: c.operator,
          value: JSON.stringify(c.value ?? null),
          config: JSON.stringify(c.config ?? {}),
        })),
      changed_by: changedBy,
      occurred_at: toCeTime(at),
      frozen: group.frozen,
      refresh_cadence_seconds: group.refreshCadenceSeconds,
      evaluate_now: evaluateNow,
      unlink,
    },
  };
}
