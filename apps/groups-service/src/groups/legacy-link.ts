import { UserGroup } from './user-group.entity';

export const LEGACY_COHORT = 'legacy_cohort';

/** The cohort a group mirrors, if it is cohort-linked; cohortId is null until the cohort exists. */
export function cohortLink(group: UserGroup): { cohortId: number | null } | null {
  const criterion = group.criteria?.find((c) => c.type === LEGACY_COHORT);
  if (!criterion) return null;
  const id = criterion.config?.cohort_id;
  return { cohortId: typeof id === 'number' ? id : null };
}
