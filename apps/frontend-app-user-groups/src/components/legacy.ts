import type { IntlShape } from 'react-intl';
import type { Group } from '../api';
import messages from '../messages';

/** The legacy group a User Group is linked to, in words. */
export function legacyLinkText(intl: IntlShape, group: Group): string {
  const link = group.legacy_link as (Record<string, unknown> & { type?: string }) | null | undefined;
  if (!link?.type) return '';
  if (link.type === 'cohort')
    return link.cohort_id
      ? intl.formatMessage(messages.linkedCohort, { id: String(link.cohort_id) })
      : intl.formatMessage(messages.linkingCohort);
  if (link.type === 'team')
    return intl.formatMessage(messages.linkedTeam, { id: String(link.team_id ?? link.teamset_id ?? '') });
  if (link.type === 'enrollment_track')
    return intl.formatMessage(messages.linkedTrack, { mode: String(link.mode ?? '') });
  return String(link.type);
}
