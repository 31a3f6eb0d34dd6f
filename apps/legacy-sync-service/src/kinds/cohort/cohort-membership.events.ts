import { DecodedEvent, EventType } from '@groups-sync/contracts';
import { PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LegacyKindEvents, Observed } from '../legacy-kind.port';
import { CohortDirectory } from './cohort-directory';

export type CohortEvent = DecodedEvent<EventType.CohortMembershipChanged | EventType.CohortMembershipRemoved>;

/**
 * COHORT_MEMBERSHIP_CHANGED means "user is now in the cohort with this name": an add to that cohort;
 * the proposed `cohort_membership.removed.v1` (the LMS companion plugin's), a removal from it. The
 * name resolves to an id through the cohorts API (cached per course, refreshed on a miss).
 */
export class CohortMembershipEvents implements LegacyKindEvents<CohortEvent> {
  constructor(private readonly directory: CohortDirectory) {}

  check(event: CohortEvent): void {
    const { user, course, name } = event.data.cohort;
    if (!course.course_key || !name || !(user.id > 0))
      throw new PoisonMessageError('INVALID_DATA', 'cohort event without course key, cohort name or user id', event);
  }

  courseOf(event: CohortEvent): string {
    return event.data.cohort.course.course_key;
  }

  userOf(event: CohortEvent): { id: number; username: string } {
    return { id: event.data.cohort.user.id, username: event.data.cohort.user.pii.username };
  }

  async observe(events: CohortEvent[], links: LegacyLink[]): Promise<Map<CohortEvent, Observed[]>> {
    const linkOf = new Map(links.map((l) => [`${l.courseKey}|${l.legacyId}`, l]));
    const out = new Map<CohortEvent, Observed[]>();
    for (const event of events) {
      const { course, name } = event.data.cohort;
      // Courses no group mirrors cost no LMS call.
      const cohortId = links.some((l) => l.courseKey === course.course_key)
        ? await this.directory.idByName(course.course_key, name)
        : null;
      const link = cohortId === null ? undefined : linkOf.get(`${course.course_key}|${cohortId}`);
      const action = event.type === EventType.CohortMembershipRemoved ? 'removed' : 'added';
      out.set(event, link ? [{ link, action }] : []);
    }
    return out;
  }
}
