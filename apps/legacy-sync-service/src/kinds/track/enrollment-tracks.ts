/**
 * edx-platform's enrollment track partition (`ENROLLMENT_TRACK_PARTITION_ID = 50`,
 * openedx/core/djangoapps/verified_track_content/partition_scheme.py): a learner is in the group of
 * their enrollment's mode while the enrollment is active, and in none otherwise; a credit
 * enrollment is in the verified group (there is no credit group). Read-only: the mode decides.
 */
export const ENROLLMENT_TRACK_PARTITION_ID = 50;

/** The track group an enrollment puts a learner in, or null (an inactive enrollment puts them in none). */
export function trackOf(mode: string, isActive: boolean): string | null {
  if (!isActive) return null;
  return mode === 'credit' ? 'verified' : mode;
}

/** The enrollment modes whose learners a track group holds. */
export function modesOfTrack(track: string): string[] {
  return track === 'verified' ? ['verified', 'credit'] : [track];
}

/** Why a group cannot mirror this mode's track, or null. */
export function trackRefusal(mode: string): string | null {
  return mode === 'credit'
    ? 'edx-platform has no credit track group: credit learners are in the verified track (link to mode "verified")'
    : null;
}
