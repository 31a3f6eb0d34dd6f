import { Membership } from '../memberships/membership.entity';
import { UserGroup } from './user-group.entity';
import { cohortLink } from './legacy-link';
import { legacyKind } from './criteria-rules';

export function isStale(group: UserGroup, now = Date.now()): boolean {
  if (group.kind !== 'dynamic' || !group.enabled || group.frozen) return false;
  const cadence = group.refreshCadenceSeconds ?? group.defaultRefreshSeconds ?? 86_400;
  return !group.lastRefreshedAt || now - group.lastRefreshedAt.getTime() > cadence * 1000;
}

/** The API's representation of a group (snake_case, like Open edX's APIs). */
export function groupView(group: UserGroup, members?: Membership[]) {
  const legacy = legacyKind(group.criteria);
  const legacyCriterion = group.criteria?.find((c) => c.type.startsWith('legacy_'));
  return {
    id: group.id,
    scope_type: group.scopeType,
    scope_key: group.scopeKey,
    name: group.name,
    description: group.description,
    kind: group.kind,
    collection: group.collection,
    enabled: group.enabled,
    frozen: group.frozen,
    version: group.version,
    criteria: [...(group.criteria ?? [])]
      .sort((a, b) => a.position - b.position)
      .map((c) => ({ type: c.type, operator: c.operator, value: c.value ?? null, config: c.config ?? {} })),
    legacy_link: legacy
      ? {
          type: legacy,
          ...(legacy === 'cohort'
            ? { cohort_id: cohortLink(group)?.cohortId ?? null }
            : (legacyCriterion?.config ?? {})),
        }
      : null,
    carry_over_on_rerun: group.carryOverOnRerun,
    rerun_of: group.rerunOfGroupId ? { group_id: group.rerunOfGroupId, course_key: group.rerunOfCourseKey } : null,
    refresh_cadence_seconds: group.refreshCadenceSeconds ?? group.defaultRefreshSeconds,
    last_refreshed_at: group.lastRefreshedAt,
    is_stale: isStale(group),
    evaluation_error: group.evaluationError
      ? { error: group.evaluationError, failed_at: group.evaluationFailedAt }
      : null,
    created_by: group.createdBy,
    created_at: group.createdAt,
    updated_at: group.updatedAt,
    ...(members ? { members: members.map(memberView) } : {}),
  };
}

/**
 * What a learner sees of a group they are in, but may not manage: which group, never how staff
 * describe it, its criteria or who made it.
 */
export function learnerGroupView(group: UserGroup) {
  return { id: group.id, name: group.name, scope_type: group.scopeType, scope_key: group.scopeKey };
}

export function memberView(m: Membership) {
  return {
    user_id: m.userId,
    username: m.username,
    active: m.active,
    origin: m.origin,
    joined_at: m.joinedAt,
    left_at: m.leftAt,
    changed_at: m.changedAt,
    sync_state: m.syncState,
    sync_error: m.syncError,
  };
}
