import { Controller, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { ConsumerGroup, EventType, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, metric } from '@groups-sync/messaging';
import { TrackKind } from '../kinds/track/track.kind';
import { EnrollmentEvent } from '../kinds/track/enrollment.events';
import { LmsObservations } from './lms-observations.pipeline';

const ENROLLMENT_EVENTS = [
  EventType.CourseEnrollmentCreated,
  EventType.CourseEnrollmentChanged,
  EventType.CourseUnenrollmentCompleted,
];
const observed = metric(
  'enrollment_track_observations_total',
  () =>
    new Counter({
      name: 'enrollment_track_observations_total',
      help: 'Enrollment events, by what they meant for the mirrored track groups',
      labelNames: ['outcome'],
    }),
);

/** Enrollment events → observations of the course's track groups (read-only mirrors; LmsObservations). */
@Controller()
export class EnrollmentTrackConsumer {
  private readonly logger = new Logger(EnrollmentTrackConsumer.name);

  constructor(
    private readonly observations: LmsObservations,
    private readonly kind: TrackKind,
  ) {}

  @ConsumeEvents({
    group: ConsumerGroup.LegacySyncEnrollmentEvents,
    topics: [Topic.LmsCourseEnrollment, Topic.LmsCourseUnenrollment],
    types: ENROLLMENT_EVENTS,
  })
  async onBatch(events: EnrollmentEvent[]): Promise<void> {
    const batch = await this.observations.observe(ConsumerGroup.LegacySyncEnrollmentEvents, this.kind, events);
    const counts = {
      added: batch.observed.filter((o) => o.action === 'added').length,
      removed: batch.observed.filter((o) => o.action === 'removed').length,
      unlinked: batch.unlinked,
    };
    for (const [outcome, n] of Object.entries(counts)) if (n) observed.inc({ outcome }, n);
    this.logger.debug(`enrollment events: ${JSON.stringify(counts)}`);
  }
}
