import { Controller } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  ConsumerGroup, CourseEnrollmentData, CRITERION_TYPES, DecodedEvent, EvaluationUserResultData, EventType, isCourseKey, toCeTime, Topic,
} from '@groups-sync/contracts';
import { CriterionValues } from '@groups-sync/criteria-sdk';
import { ConsumeEvents, Inbox, isDependencyUnavailable, metric, OutboxRelay, OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { GroupEvaluator } from '../evaluation/group-evaluator';
import { DynamicGroupRow } from './refresh-runs';

const ENROLLMENT_EVENTS = [EventType.CourseEnrollmentCreated, EventType.CourseEnrollmentChanged, EventType.CourseUnenrollmentCompleted];
const reevaluations = metric('evaluation_user_reevaluations_total', () => new Counter({
  name: 'evaluation_user_reevaluations_total', help: 'Users re-evaluated against a dynamic group after an LMS event, by result', labelNames: ['result'],
}));

/**
 * LMS events that can change who a dynamic group selects: only the user concerned is re-evaluated,
 * against only the groups of their course, its organization or the site whose criteria name that
 * event (`staleOn` of their types). Each result goes to groups-service, which applies it unless a
 * newer full refresh has covered it. A user's events of one course share a partition (the LMS keys
 * them by course), so they are handled in order.
 */
@Controller()
export class LmsEventsConsumer {
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource, private readonly evaluator: GroupEvaluator, private readonly registry: CriteriaRegistry,
    private readonly outbox: OutboxWriter, private readonly relay: OutboxRelay,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.EvaluatorLmsEvents);
  }

  @ConsumeEvents({ group: ConsumerGroup.EvaluatorLmsEvents, topics: [Topic.LmsCourseEnrollment, Topic.LmsCourseUnenrollment], types: ENROLLMENT_EVENTS })
  async onBatch(events: DecodedEvent[]): Promise<void> {
    for (const event of events) {
      const { user, course } = (event.data as CourseEnrollmentData).enrollment;
      if (!(user?.id > 0) || !isCourseKey(course?.course_key ?? '')) throw new PoisonMessageError('INVALID_DATA', 'enrollment event without a user id or a course key', event);
      const org = course.course_key.startsWith('course-v1:') ? course.course_key.slice('course-v1:'.length).split('+')[0] : course.course_key.split('/')[0];
      const groups: DynamicGroupRow[] = await this.dataSource.query(
        `SELECT * FROM dynamic_group WHERE enabled = 1 AND ((scope_type = 'course' AND scope_key = ?) OR (scope_type = 'org' AND scope_key = ?) OR scope_type = 'instance')`,
        [course.course_key, org]);
      const stale = groups.filter((g) => (JSON.parse(g.criteria) as CriterionValues[]).some((c) => (this.registry.get(c.type)?.spec ?? CRITERION_TYPES[c.type])?.staleOn.includes(event.type)));
      const now = new Date();
      const results: EvaluationUserResultData[] = [];
      for (const group of stale) {
        let member: boolean;
        try {
          member = await this.evaluator.selects({ type: group.scope_type, key: group.scope_key }, JSON.parse(group.criteria), user.id, now);
        } catch (error) {
          if (isDependencyUnavailable(error)) throw error;
          continue; // a group that cannot be evaluated keeps its members (its full refresh reports why)
        }
        reevaluations.inc({ result: member ? 'member' : 'not_member' });
        results.push({ result: { group_id: group.group_id, user_id: user.id, username: user.pii.username, member, evaluated_at: toCeTime(now), cause_event_id: event.metadata.id } });
      }
      await this.inbox.process(event, async (manager) => {
        await this.outbox.appendMany(manager, EventType.EvaluationUserResult, results, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
      });
    }
    this.relay.notify();
  }
}
