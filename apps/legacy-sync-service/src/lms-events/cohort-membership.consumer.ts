import { Controller, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, In, IsNull, MoreThan } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, LegacyMembershipObservedData, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, Inbox, metric, OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { CohortDirectory } from '../lms/cohort-directory';
import { recordCourseActivity } from '../reconciliation/course-activity';

type CohortEvent = DecodedEvent<EventType.CohortMembershipChanged>;

const ECHO_WINDOW_MS = 15 * 60 * 1000;
const observed = metric('legacy_observations_total', () => new Counter({ name: 'legacy_observations_total', help: 'LMS membership events, by outcome', labelNames: ['outcome'] }));

/**
 * LMS → User Group, a partition batch at a time. COHORT_MEMBERSHIP_CHANGED means "user is now in
 * the cohort with this name". Every event of a linked cohort is forwarded to groups-service in the
 * LMS's order, our own writes' echoes included (marked by their pending write): the echo is what
 * tells groups-service where the LMS put the learner after our write, so it is never swallowed.
 */
@Controller()
export class CohortMembershipConsumer {
  private readonly logger = new Logger(CohortMembershipConsumer.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly directory: CohortDirectory,
    private readonly outbox: OutboxWriter,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncLmsEvents);
  }

  @ConsumeEvents({ group: ConsumerGroup.LegacySyncLmsEvents, topics: [Topic.LmsCohortMembership], types: [EventType.CohortMembershipChanged] })
  async onBatch(events: CohortEvent[]): Promise<void> {
    for (const event of events) {
      const { user, course, name } = event.data.cohort;
      if (!course.course_key || !name || !(user.id > 0)) throw new PoisonMessageError('INVALID_DATA', 'cohort event without course key, cohort name or user id', event);
      if (Number.isNaN(new Date(event.metadata.time).getTime())) throw new PoisonMessageError('INVALID_DATA', `ce_time "${event.metadata.time}" is not a time`, event);
    }
    // Cohort names resolve from a cache (the LMS is asked only on a miss), outside the transaction;
    // the inbox, inside it, leaves out what was applied before.
    const courses = [...new Set(events.map((e) => e.data.cohort.course.course_key))];
    const links = await this.dataSource.getRepository(LegacyLink).find({ where: { courseKey: In(courses), legacyType: 'cohort' } });
    const linkOf = new Map(links.filter((l) => l.legacyId).map((l) => [`${l.courseKey}|${l.legacyId}`, l]));
    const targets = new Map<CohortEvent, LegacyLink | null>();
    for (const event of events) {
      const { course, name } = event.data.cohort;
      // Courses no group mirrors cost no LMS call.
      const cohortId = links.some((l) => l.courseKey === course.course_key) ? await this.directory.idByName(course.course_key, name) : null;
      targets.set(event, cohortId === null ? null : linkOf.get(`${course.course_key}|${cohortId}`) ?? null);
    }
    const counts: Record<string, number> = { forwarded: 0, echo: 0, unlinked: 0 };
    await this.inbox.processBatch(events, async (manager, fresh) => {
      const linked = fresh.flatMap((event) => (targets.get(event) ? [{ event, link: targets.get(event)! }] : []));
      counts.unlinked = fresh.length - linked.length;
      if (!linked.length) return;
      // Our own writes' echoes confirm their pending writes, the oldest first.
      const pending = await manager.find(PendingLmsWrite, {
        where: {
          courseKey: In(courses), userId: In([...new Set(linked.map((t) => t.event.data.cohort.user.id))]), action: 'added',
          confirmedAt: IsNull(), createdAt: MoreThan(new Date(Date.now() - ECHO_WINDOW_MS)),
        },
        order: { id: 'ASC' },
        lock: { mode: 'pessimistic_write' },
      });
      // Pending writes by course, cohort and learner, oldest first: an echo takes the first one.
      const waiting = new Map<string, PendingLmsWrite[]>();
      for (const p of pending) {
        const k = `${p.courseKey}|${p.legacyId}|${p.userId}`;
        waiting.set(k, [...(waiting.get(k) ?? []), p]);
      }
      const confirmed: string[] = [];
      const observations: LegacyMembershipObservedData[] = linked.map(({ event, link }) => {
        const { user, course } = event.data.cohort;
        const echo = waiting.get(`${course.course_key}|${link!.legacyId}|${user.id}`)?.shift();
        if (echo) confirmed.push(echo.id);
        counts[echo ? 'echo' : 'forwarded']++;
        return {
          observation: {
            group_id: link!.groupId, course_key: course.course_key, user_id: user.id, username: user.pii.username,
            action: 'added', observed_at: new Date(event.metadata.time).toISOString(), source_event_id: event.metadata.id,
            echo_of_change_at: echo?.changeOccurredAt ?? null,
          },
        };
      });
      if (confirmed.length) await manager.update(PendingLmsWrite, { id: In(confirmed) }, { confirmedAt: new Date() });
      await recordCourseActivity(manager, linked.map((t) => t.event.data.cohort.course.course_key));
      const first = linked[0].event.metadata;
      await this.outbox.appendMany(manager, EventType.LegacyMembershipObserved, observations, { causationId: first.id, correlationId: first.correlationId ?? first.id });
    });
    for (const [outcome, n] of Object.entries(counts)) if (n) observed.inc({ outcome }, n);
    this.logger.debug(`cohort events: ${JSON.stringify(counts)}`);
  }
}
