import { UserGroup } from './user-group.entity';

export const LEGACY_COHORT = 'legacy_cohort';

/** The cohort a group mirrors, if it is cohort-linked; cohortId is null until the cohort exists. */
export function cohortLink(group: UserGroup): { cohortId: number | null } | null {
  const criterion = group.criteria?.find((c) => c.type === LEGACY_COHORT);
  if (!criterion) return null;
  const id = criterion.config?.cohort_id;
  return { cohortId: typeof id === 'number' ? id : null };
}

export const LEGACY_TEAM = 'legacy_team';

/** The team a group mirrors, if it is team-linked: a team (teamId, null until created in its teamset), or a whole teamset (read-only). */
export function teamLink(
  group: UserGroup,
): { teamId: string | null; teamsetId: string | null; wholeTeamset: boolean } | null {
  const criterion = group.criteria?.find((c) => c.type === LEGACY_TEAM);
  if (!criterion) return null;
  const config = criterion.config ?? {};
  return {
    teamId: typeof config.team_id === 'string' ? config.team_id : null,
    teamsetId: typeof config.teamset_id === 'string' ? config.teamset_id : null,
    wholeTeamset: config.whole_teamset === true,
  };
}

/** A legacy group our writes reach (a cohort, a team): its memberships carry a sync state. Tracks and whole teamsets are read-only. */
export function writesToLegacyGroup(group: UserGroup): boolean {
  const team = teamLink(group);
  return cohortLink(group) !== null || (team !== null && !team.wholeTeamset);
}
