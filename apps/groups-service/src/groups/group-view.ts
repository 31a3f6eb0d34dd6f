import { Membership } from '../memberships/membership.entity';
import { UserGroup } from './user-group.entity';
import { cohortLink } from './legacy-link';

/** The API's representation of a group (snake_case, like Open edX's APIs). */
export function groupView(group: UserGroup, members?: Membership[]) {
  const link = cohortLink(group);
  return {
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
      .map((c) => ({ type: c.type, operator: c.operator, value: c.value ?? null, config: c.config ?? {} })),
    legacy_link: link ? { type: 'cohort', cohort_id: link.cohortId } : null,
    created_at: group.createdAt,
    updated_at: group.updatedAt,
    ...(members ? { members: members.map(memberView) } : {}),
  };
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
