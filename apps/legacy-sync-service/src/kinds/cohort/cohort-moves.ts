import { Difference } from '../legacy-kind.port';

/**
 * Across a course's linked cohorts: a learner the LMS moved into another mirrored cohort is added
 * to that group, which takes them out of this one (a learner has one cohort per course). The
 * removal is then implied, and sending it too would race the add.
 */
export function impliedByMoves(
  differences: Difference[],
  cohortOf: (courseKey: string, username: string) => string | undefined,
): Difference[] {
  const addedTo = new Map<string, string>();
  for (const d of differences)
    if (d.action === 'add_to_group') addedTo.set(`${d.courseKey}|${d.username.toLowerCase()}`, d.groupId);
  return differences.map((d) => {
    if (d.action !== 'remove_from_group' || d.kind !== 'removed_in_lms') return d;
    const to = addedTo.get(`${d.courseKey}|${d.username.toLowerCase()}`);
    if (to)
      return { ...d, kind: 'moved_in_lms', reason: `moved in the LMS into the cohort of group ${to}`, action: 'none' };
    const where = cohortOf(d.courseKey, d.username);
    return where ? { ...d, reason: `moved in the LMS into ${where}, which no group mirrors` } : d;
  });
}
