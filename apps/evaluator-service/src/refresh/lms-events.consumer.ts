import { Controller } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  ConsumerGroup,
  CourseEnrollmentData,
  CRITERION_TYPES,
  DecodedEvent,
  EvaluationUserResultData,
  EventType,
  isCourseKey,
  PersistentCourseGradeData,
  SessionLoginCompletedData,
  toCeTime,
  Topic,
} from '@groups-sync/contracts';
import { CriterionValues } from '@groups-sync/criteria-sdk';
import {
  ConsumeEvents,
  Inbox,
  isDependencyUnavailable,
  metric,
  OutboxWriter,
  PoisonMessageError,
} from '@groups-sync/messaging';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { GroupEvaluator } from '../evaluation/group-evaluator';
import { DynamicGroupRow } from './refresh-runs';

const ENROLLMENT_EVENTS = [
  EventType.CourseEnrollmentCreated,
  EventType.CourseEnrollmentChanged,
  EventType.CourseUnenrollmentCompleted,
];
const reevaluations = metric(
  'evaluation_user_reevaluations_total',
  () =>
    new Counter({
      name: 'evaluation_user_reevaluations_total',
      help: 'Users re-evaluated against a dynamic group after an LMS event, by result',
      labelNames: ['result'],
    }),
);

/** Who an LMS event is about, and in which course (none for a login). A grade event names no username. */
interface Concerned {
  userId: number;
  username: string | null;
  courseKey: string | null;
}

/**
 * LMS events that can change who a dynamic group selects: only the user concerned is re-evaluated,
 * against only the enabled groups whose criteria name that event (`staleOn` of their types). An
 * enrollment or a grade has a course: the groups of that course, its organization and the site. A
 * login has none: every such group, whatever its scope (`selects` still requires a course group's
 * learner to be enrolled in its course). Each result goes to groups-service, which applies it unless
 * a full refresh or a change of that membership newer than the evaluation covered it.
 *
 * Order: the LMS keys enrollments and grades by course and logins by username, so a user's
 * enrollment events of one course are handled in order, as are their grade events of one course
 * and all their logins. Nothing orders events of different topics or courses: each re-evaluation
 * reads the LMS as it is then, not the event's data, so the latest one handled is right; only a
 * result evaluated earlier can still land after a later one that changed nothing, until the next
 * event or refresh of that group.
 */
@Controller()
export class LmsEventsConsumer {
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly evaluator: GroupEvaluator,
    private readonly registry: CriteriaRegistry,
    private readonly outbox: OutboxWriter,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.EvaluatorLmsEvents);
  }

  @ConsumeEvents({
    group: ConsumerGroup.EvaluatorLmsEvents,
    topics: [Topic.LmsCourseEnrollment, Topic.LmsCourseUnenrollment, Topic.LmsUserLogin, Topic.LmsCourseGrade],
    types: [...ENROLLMENT_EVENTS, EventType.SessionLoginCompleted, EventType.PersistentGradeSummaryChanged],
  })
  async onBatch(events: DecodedEvent[]): Promise<void> {
    // One replica position for the batch, asked once an event needs it, after the batch's latest
    // event: every re-evaluation of the batch reads the LMS with all of its events applied.
    const latest = new Date(Math.max(...events.map((e) => Date.parse(e.metadata.time))));
    let position: Promise<Date> | undefined;
    const readAt = () => (position ??= this.evaluator.readAt(latest));
    for (const event of events) {
      const results = await this.reevaluate(event, concerned(event), readAt);
      await this.inbox.process(event, async (manager) => {
        await this.outbox.appendMany(manager, EventType.EvaluationUserResult, results, {
          causationId: event.metadata.id,
          correlationId: event.metadata.correlationId,
        });
      });
    }
  }

  private async reevaluate(
    event: DecodedEvent,
    { userId, username, courseKey }: Concerned,
    batchReadAt: () => Promise<Date>,
  ): Promise<EvaluationUserResultData[]> {
    const stale = (await this.groups(courseKey)).filter((g) =>
      (JSON.parse(g.criteria) as CriterionValues[]).some((c) =>
        (this.registry.get(c.type)?.spec ?? CRITERION_TYPES[c.type])?.staleOn.includes(event.type),
      ),
    );
    if (!stale.length) return [];
    const name = username ?? (await this.evaluator.username(userId));
    if (name === null) return []; // a user the LMS does not have (yet): left to the groups' next refresh
    // Dated by what the replica has applied, once it has applied the events (or retried as an outage).
    const readAt = await batchReadAt();
    const now = new Date();
    const results: EvaluationUserResultData[] = [];
    for (const group of stale) {
      let member: boolean;
      try {
        member = await this.evaluator.selects(
          { type: group.scope_type, key: group.scope_key },
          JSON.parse(group.criteria),
          userId,
          now,
        );
      } catch (error) {
        if (isDependencyUnavailable(error)) throw error;
        continue; // a group that cannot be evaluated keeps its members (its full refresh reports why)
      }
      reevaluations.inc({ result: member ? 'member' : 'not_member' });
      results.push({
        result: {
          group_id: group.group_id,
          user_id: userId,
          username: name,
          member,
          evaluated_at: toCeTime(readAt),
          cause_event_id: event.metadata.id,
        },
      });
    }
    return results;
  }

  /** The enabled dynamic groups a change in this course can concern: with no course, all of them. */
  private async groups(courseKey: string | null): Promise<DynamicGroupRow[]> {
    if (courseKey === null) return this.dataSource.query('SELECT * FROM dynamic_group WHERE enabled = 1');
    const org = courseKey.startsWith('course-v1:')
      ? courseKey.slice('course-v1:'.length).split('+')[0]
      : courseKey.split('/')[0];
    return this.dataSource.query(
      `SELECT * FROM dynamic_group WHERE enabled = 1 AND ((scope_type = 'course' AND scope_key = ?) OR (scope_type = 'org' AND scope_key = ?) OR scope_type = 'instance')`,
      [courseKey, org],
    );
  }
}

function concerned(event: DecodedEvent): Concerned {
  if (event.type === EventType.SessionLoginCompleted) {
    const { user } = event.data as SessionLoginCompletedData;
    if (!(user?.id > 0) || !user.pii?.username)
      throw new PoisonMessageError('INVALID_DATA', 'login event without a user id or a username', event);
    return { userId: user.id, username: user.pii.username, courseKey: null };
  }
  if (event.type === EventType.PersistentGradeSummaryChanged) {
    const { grade } = event.data as PersistentCourseGradeData;
    if (!(grade?.user_id > 0) || !isCourseKey(grade.course?.course_key ?? ''))
      throw new PoisonMessageError('INVALID_DATA', 'grade event without a user id or a course key', event);
    return { userId: grade.user_id, username: null, courseKey: grade.course.course_key };
  }
  const { user, course } = (event.data as CourseEnrollmentData).enrollment;
  if (!(user?.id > 0) || !isCourseKey(course?.course_key ?? ''))
    throw new PoisonMessageError('INVALID_DATA', 'enrollment event without a user id or a course key', event);
  return { userId: user.id, username: user.pii.username, courseKey: course.course_key };
}
