import { GroupKind } from '../groups/user-group.entity';

/** What a rerun does with one group of the earlier run. */
export type RerunDecision = { copy: true } | { copy: false; reason: string };

export interface RerunCandidate {
  kind: GroupKind;
  carryOverOnRerun: boolean;
  /** For a legacy group: what it mirrors, and for a track its mode. */
  legacyKind: 'cohort' | 'team' | 'enrollment_track' | null;
  mode?: string;
}

/**
 * A rerun keeps what groups *are*, not who was put in them by hand (as cohort definitions carry
 * over in the LMS and CSV assignments do not): criteria carry over; a manual group only when its
 * course team asked, and empty; a cohort-linked group links the new run's cohort of its name; a
 * team is one run's; a track carries over where the new run offers its mode.
 */
export function rerunDecision(group: RerunCandidate, modesOfNewRun: readonly string[] | null): RerunDecision {
  switch (group.kind) {
    case 'dynamic':
      return { copy: true };
    case 'manual':
      return group.carryOverOnRerun
        ? { copy: true }
        : { copy: false, reason: 'a manual group carries over only with carry_over_on_rerun' };
    case 'legacy':
      if (group.legacyKind === 'cohort') return { copy: true };
      if (group.legacyKind === 'team') return { copy: false, reason: 'teams belong to one run' };
      if (group.legacyKind === 'enrollment_track')
        return modesOfNewRun?.includes(group.mode ?? '')
          ? { copy: true }
          : { copy: false, reason: `the new run does not offer the mode "${group.mode ?? ''}"` };
      return { copy: false, reason: 'an unknown legacy kind' };
  }
}
