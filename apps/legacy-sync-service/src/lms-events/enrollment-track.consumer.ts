import { Controller, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, In } from 'typeorm';
import { ConsumerGroup, CourseEnrollmentData, DecodedEvent, EventType, isCourseKey, LegacyMembershipObservedData, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, Inbox, metric, OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../links/legacy-link.entity';
import { recordCourseActivity } from '../reconciliation/course-activity';
import { trackOf } from '../tracks/enrollment-tracks';

type EnrollmentEvent = DecodedEvent<EventType.CourseEnrollmentCreated | EventType.CourseEnrollmentChanged | EventType.CourseUnenrollmentCompleted>;

const ENROLLMENT_EVENTS = [EventType.CourseEnrollmentCreated, EventType.CourseEnrollmentChanged, EventType.CourseUnenrollmentCompleted];
const observed = metric('enrollment_track_observations_total', () => new Counter({
  name: 'enrollment_track_observations_total', help: 'Enrollment events, by what they meant for the mirrored track groups', labelNames: ['outcome'],
}));

/**
 * LMS → User Group for enrollment tracks (read-only mirrors). Each enrollment event carries the
 * enrollment's whole state (mode, is_active), so it is turned into one observation per track group
 * of the course the LMS mirrors: added to the group of the learner's track, removed from the others.
 * Dated by the LMS's own time (ce_time): groups-service keeps the latest per learner and group, so
 * the order edx-platform sends them in (CHANGED then CREATED for a new enrollment, CHANGED then
 * UNENROLLMENT_COMPLETED for an unenrollment), duplicates and redeliveries all end in the same place.
 */
@Controller()
export class EnrollmentTrackConsumer {
  private readonly logger = new Logger(EnrollmentTrackConsumer.name);
  private readonly inbox: Inbox;

  constructor(private readonly dataSource: DataSource, private readonly outbox: OutboxWriter) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncEnrollmentEvents);
  }

  @ConsumeEvents({ group: ConsumerGroup.LegacySyncEnrollmentEvents, topics: [Topic.LmsCourseEnrollment, Topic.LmsCourseUnenrollment], types: ENROLLMENT_EVENTS })
  async onBatch(events: EnrollmentEvent[]): Promise<void> {
    for (const event of events) {
      const e = (event.data as CourseEnrollmentData).enrollment;
      if (!(e?.user?.id > 0) || !e.user.pii?.username || !isCourseKey(e.course?.course_key ?? '') || typeof e.mode !== 'string' || !e.mode) {
        throw new PoisonMessageError('INVALID_DATA', 'enrollment event without a user id, username, course key or mode', event);
      }
      if (Number.isNaN(new Date(event.metadata.time).getTime())) throw new PoisonMessageError('INVALID_DATA', `ce_time "${event.metadata.time}" is not a time`, event);
    }
    const courses = [...new Set(events.map((e) => e.data.enrollment.course.course_key))];
    // Courses no group mirrors a track of cost one indexed read and nothing else.
    const links = await this.dataSource.getRepository(LegacyLink).find({ where: { courseKey: In(courses), legacyType: 'enrollment_track', state: 'linked' } });
    if (!links.length) {
      observed.inc({ outcome: 'unlinked' }, events.length);
      return;
    }
    const counts = { added: 0, removed: 0, unlinked: 0 };
    await this.inbox.processBatch(events, async (manager, fresh) => {
      const observations: LegacyMembershipObservedData[] = [];
      for (const event of fresh) {
        const { user, course, mode, is_active: isActive } = event.data.enrollment;
        const tracks = links.filter((l) => l.courseKey === course.course_key && l.legacyId);
        if (!tracks.length) {
          counts.unlinked++;
          continue;
        }
        const track = trackOf(mode, isActive);
        for (const link of tracks) {
          const action = link.legacyId === track ? 'added' : 'removed';
          counts[action]++;
          observations.push({
            observation: {
              group_id: link.groupId, course_key: course.course_key, user_id: user.id, username: user.pii.username, action,
              observed_at: new Date(event.metadata.time).toISOString(), source_event_id: event.metadata.id, echo_of_change_at: null,
            },
          });
        }
      }
      if (!observations.length) return;
      await recordCourseActivity(manager, courses);
      await this.outbox.appendMany(manager, EventType.LegacyMembershipObserved, observations, { causationId: fresh[0].metadata.id, correlationId: fresh[0].metadata.correlationId ?? fresh[0].metadata.id });
    });
    for (const [outcome, n] of Object.entries(counts)) if (n) observed.inc({ outcome }, n);
    this.logger.debug(`enrollment events: ${JSON.stringify(counts)}`);
  }
}
