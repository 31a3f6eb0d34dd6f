import { CourseEnrollmentData, DecodedEvent, EventType, isCourseKey } from '@groups-sync/contracts';
import { PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LegacyKindEvents, Observed } from '../legacy-kind.port';
import { trackOf } from './enrollment-tracks';

export type EnrollmentEvent = DecodedEvent<
  EventType.CourseEnrollmentCreated | EventType.CourseEnrollmentChanged | EventType.CourseUnenrollmentCompleted
>;

/**
 * Each enrollment event carries the enrollment's whole state (mode, is_active): added to the group
 * of the learner's track, removed from the course's other track groups. groups-service keeps the
 * latest per learner and group, so the order edx-platform sends them in, duplicates and
 * redeliveries all end in the same place.
 */
export class EnrollmentEvents implements LegacyKindEvents<EnrollmentEvent> {
  check(event: EnrollmentEvent): void {
    const e = (event.data as CourseEnrollmentData).enrollment;
    if (
      !(e?.user?.id > 0) ||
      !e.user.pii?.username ||
      !isCourseKey(e.course?.course_key ?? '') ||
      typeof e.mode !== 'string' ||
      !e.mode
    ) {
      throw new PoisonMessageError(
        'INVALID_DATA',
        'enrollment event without a user id, username, course key or mode',
        event,
      );
    }
  }

  courseOf(event: EnrollmentEvent): string {
    return event.data.enrollment.course.course_key;
  }

  userOf(event: EnrollmentEvent): { id: number; username: string } {
    return { id: event.data.enrollment.user.id, username: event.data.enrollment.user.pii.username };
  }

  async observe(events: EnrollmentEvent[], links: LegacyLink[]): Promise<Map<EnrollmentEvent, Observed[]>> {
    return new Map(
      events.map((event) => {
        const { course, mode, is_active: isActive } = event.data.enrollment;
        const track = trackOf(mode, isActive);
        return [
          event,
          links
            .filter((l) => l.courseKey === course.course_key)
            .map((link) => ({ link, action: link.legacyId === track ? ('added' as const) : ('removed' as const) })),
        ];
      }),
    );
  }
}
