import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import {
  CohortMembershipChangedData,
  CourseEnrollmentData,
  EventCodec,
  EventDataMap,
  EventMetadata,
  EventType,
  newEventMetadata,
  PersistentCourseGradeData,
  SessionLoginCompletedData,
  TeamMembershipChangedData,
} from '@groups-sync/contracts';
import { MessageProducer, StreamProducer } from '@groups-sync/messaging';
import { LmsEmulatorConfig } from '../lms-emulator.config';
import { EmulatorSwitches } from './emulator-switches';
import { EventFaults } from './event-faults';

type Pending = { type: EventType; data: EventDataMap[EventType]; metadata: EventMetadata };

/**
 * Publishes the way openedx-events' signal handler does: at signal time, no outbox, and without
 * waiting for the bus (event-bus-kafka produces and polls, event-bus-redis XADDs; both log errors and
 * never raise). LMS_EVENT_BUS picks the producer, as EVENT_BUS_PRODUCER does: Kafka (Confluent
 * framing, registry, key) or Redis streams (schemaless, no key, MAXLEN ~ 10,000); `both` sends to
 * both, which no LMS does, to show that a service reading both applies each event once. Events are
 * queued in the order their signals fired and sent in that order, many per request.
 */
@Injectable()
export class LmsEventsPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(LmsEventsPublisher.name);
  private readonly queue: Pending[] = [];
  private draining?: Promise<void>;
  private readonly streams?: StreamProducer;

  constructor(
    private readonly codec: EventCodec,
    private readonly producer: MessageProducer,
    private readonly config: LmsEmulatorConfig,
    private readonly faults: EventFaults,
    private readonly switches: EmulatorSwitches,
  ) {
    if (config.LMS_EVENT_BUS !== 'kafka') {
      this.streams = new StreamProducer(
        config.EVENT_BUS_REDIS_CONNECTION_URL!,
        codec,
        config.EVENT_BUS_TOPIC_PREFIX,
        config.EVENT_BUS_REDIS_STREAM_MAX_LEN,
      );
    }
  }

  async cohortMembershipChanged(data: CohortMembershipChangedData): Promise<void> {
    if (!this.config.EMIT_EVENTS) return;
    this.queueCohortEvent(EventType.CohortMembershipChanged, data);
  }

  /**
   * The proposed COHORT_MEMBERSHIP_REMOVED (the companion plugin's, on the CohortMembership delete),
   * only while `emit_cohort_removal_events` is on; queued behind the learner's earlier cohort events,
   * so an add and the removal after it arrive in that order.
   */
  async cohortMembershipRemoved(data: CohortMembershipChangedData): Promise<void> {
    if (!this.config.EMIT_EVENTS || !this.switches.get().emit_cohort_removal_events) return;
    this.queueCohortEvent(EventType.CohortMembershipRemoved, data);
  }

  private queueCohortEvent(
    type: EventType.CohortMembershipChanged | EventType.CohortMembershipRemoved,
    data: CohortMembershipChangedData,
  ): void {
    const { user, course } = data.cohort;
    // As an LMS whose producer failed: the change commits, the event is lost (and only logged).
    if (this.faults.dropsEventOf(user.pii.username)) {
      this.logger.warn(`${type} of user ${user.id} in ${course.course_key} dropped by fault injection`);
      return;
    }
    this.queue.push({ type, data, metadata: newEventMetadata(type, 'lms') });
    this.draining ??= this.drain();
  }

  /**
   * The enrollment signals of `CourseEnrollment.update_enrollment()` / `enroll()`, in their order:
   * CHANGED when `mode` or `is_active` changes, then CREATED for a new or re-activated enrollment,
   * or UNENROLLMENT_COMPLETED when it is deactivated.
   */
  async enrollmentChanged(
    types: Array<
      EventType.CourseEnrollmentCreated | EventType.CourseEnrollmentChanged | EventType.CourseUnenrollmentCompleted
    >,
    data: CourseEnrollmentData,
  ): Promise<void> {
    if (!this.config.EMIT_EVENTS || !types.length) return;
    if (this.faults.dropsEventOf(data.enrollment.user.pii.username)) {
      this.logger.warn(
        `enrollment events of user ${data.enrollment.user.id} in ${data.enrollment.course.course_key} dropped by fault injection`,
      );
      return;
    }
    for (const type of types) this.queue.push({ type, data, metadata: newEventMetadata(type, 'lms') });
    this.draining ??= this.drain();
  }

  /** SESSION_LOGIN_COMPLETED, sent by the login view once the session is made and `last_login` written. */
  async loginCompleted(data: SessionLoginCompletedData): Promise<void> {
    await this.publishOne(
      EventType.SessionLoginCompleted,
      data,
      { id: data.user.id, username: data.user.pii.username },
      'login',
    );
  }

  /** PERSISTENT_GRADE_SUMMARY_CHANGED, sent by `PersistentCourseGrade.update_or_create()` after the grade row is saved. */
  async gradeChanged(data: PersistentCourseGradeData, username: string): Promise<void> {
    await this.publishOne(
      EventType.PersistentGradeSummaryChanged,
      data,
      { id: data.grade.user_id, username },
      `grade in ${data.grade.course.course_key}`,
    );
  }

  /**
   * The proposed TEAM_MEMBERSHIP_ADDED / _REMOVED (edx-platform sends no team event), only while
   * `emit_team_events` is on. Sent once the membership change has committed.
   */
  async teamMembershipChanged(
    type: EventType.TeamMembershipAdded | EventType.TeamMembershipRemoved,
    data: TeamMembershipChangedData,
  ): Promise<void> {
    if (!this.switches.get().emit_team_events) return;
    const { user, course, team } = data.team_membership;
    await this.publishOne(
      type,
      data,
      { id: user.id, username: user.pii.username },
      `team membership (${type === EventType.TeamMembershipAdded ? 'added' : 'removed'}, ${team.team_id} in ${course.course_key})`,
    );
  }

  private async publishOne<T extends EventType>(
    type: T,
    data: EventDataMap[T],
    user: { id: number; username: string },
    what: string,
  ): Promise<void> {
    if (!this.config.EMIT_EVENTS) return;
    if (this.faults.dropsEventOf(user.username)) {
      this.logger.warn(`${what} event of user ${user.id} dropped by fault injection`);
      return;
    }
    this.queue.push({ type, data: data as EventDataMap[EventType], metadata: newEventMetadata(type, 'lms') });
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, 500);
      const lost = (error: Error) => this.logger.error(`${batch.length} LMS events not delivered: ${error.message}`);
      if (this.config.LMS_EVENT_BUS !== 'redis') {
        await Promise.all(batch.map((e) => this.codec.encode(e.type, e.data, e.metadata)))
          .then((messages) => this.producer.send(messages))
          .catch(lost);
      }
      if (this.streams) await this.streams.send(batch).catch(lost);
    }
    this.draining = undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.draining;
    await this.streams?.disconnect();
  }
}
