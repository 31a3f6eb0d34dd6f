import { Injectable } from '@nestjs/common';
import { DataSource, In, IsNull, MoreThan } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, LegacyMembershipObservedData } from '@groups-sync/contracts';
import { Inbox, OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { LegacyKind, LegacyKindEvents } from '../kinds/legacy-kind.port';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { recordCourseActivity } from '../reconciliation/course-activity';

const ECHO_WINDOW_MS = 15 * 60 * 1000;

/** What a batch came to: events of no linked legacy group, and each observation sent on. */
export interface ObservedBatch {
  unlinked: number;
  observed: Array<{ action: 'added' | 'removed'; echo: boolean }>;
}

/**
 * LMS → User Group, a partition batch at a time, for any kind: each event of a linked legacy group
 * becomes `legacy_membership.observed.v1` for groups-service, keyed by course and dated by the
 * event's ce_time, in the LMS's order. Our own adds' echoes are forwarded too, marked by their
 * pending write (the oldest first): the echo tells groups-service where the LMS put the learner
 * after our write, so it is never swallowed. Courses with no linked legacy group of the kind cost
 * one indexed read and nothing else; one inbox read and one transaction per batch.
 */
@Injectable()
export class LmsObservations {
  private readonly inboxes = new Map<ConsumerGroup, Inbox>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly kinds: LegacyKinds,
    private readonly outbox: OutboxWriter,
  ) {}

  async observe<E extends DecodedEvent>(group: ConsumerGroup, kind: LegacyKind, events: E[]): Promise<ObservedBatch> {
    const reader = kind.events as unknown as LegacyKindEvents<E>;
    for (const event of events) {
      reader.check(event);
      if (Number.isNaN(new Date(event.metadata.time).getTime()))
        throw new PoisonMessageError('INVALID_DATA', `ce_time "${event.metadata.time}" is not a time`, event);
    }
    const courses = [...new Set(events.map((e) => reader.courseOf(e)))];
    const links = (
      await this.dataSource
        .getRepository(LegacyLink)
        .find({ where: { courseKey: In(courses), legacyType: In([...kind.linkTypes]), state: 'linked' } })
    ).filter((l) => l.legacyId);
    const batch: ObservedBatch = { unlinked: 0, observed: [] };
    if (!links.length) {
      batch.unlinked = events.length;
      return batch;
    }
    const targets = await reader.observe(events, links);
    await this.inboxOf(group).processBatch(events, async (manager, fresh) => {
      const linked = fresh.filter((e) => targets.get(e)?.length);
      batch.unlinked = fresh.length - linked.length;
      if (!linked.length) return;
      const echoable = linked.some((e) =>
        targets.get(e)!.some((t) => t.action === 'added' && this.kinds.writesFor(t.link)),
      );
      const pending = echoable
        ? await manager.find(PendingLmsWrite, {
            where: {
              courseKey: In(courses),
              userId: In([...new Set(linked.map((e) => reader.userOf(e).id))]),
              action: 'added',
              confirmedAt: IsNull(),
              createdAt: MoreThan(new Date(Date.now() - ECHO_WINDOW_MS)),
            },
            order: { id: 'ASC' },
            lock: { mode: 'pessimistic_write' },
          })
        : [];
      // Pending writes by course, legacy group and learner, oldest first: an echo takes the first one.
      const waiting = new Map<string, PendingLmsWrite[]>();
      for (const p of pending) {
        const k = `${p.courseKey}|${p.legacyId}|${p.userId}`;
        (waiting.get(k) ?? waiting.set(k, []).get(k))!.push(p);
      }
      const confirmed: string[] = [];
      const observations: LegacyMembershipObservedData[] = [];
      for (const event of linked) {
        const user = reader.userOf(event);
        const course = reader.courseOf(event);
        for (const { link, action } of targets.get(event)!) {
          const echo =
            action === 'added' && this.kinds.writesFor(link)
              ? waiting.get(`${course}|${link.legacyId}|${user.id}`)?.shift()
              : undefined;
          if (echo) confirmed.push(echo.id);
          batch.observed.push({ action, echo: !!echo });
          observations.push({
            observation: {
              group_id: link.groupId,
              course_key: course,
              user_id: user.id,
              username: user.username,
              action,
              observed_at: new Date(event.metadata.time).toISOString(),
              source_event_id: event.metadata.id,
              echo_of_change_at: echo?.changeOccurredAt ?? null,
            },
          });
        }
      }
      if (confirmed.length) await manager.update(PendingLmsWrite, { id: In(confirmed) }, { confirmedAt: new Date() });
      await recordCourseActivity(
        manager,
        linked.map((e) => reader.courseOf(e)),
      );
      const first = linked[0].metadata;
      await this.outbox.appendMany(manager, EventType.LegacyMembershipObserved, observations, {
        causationId: first.id,
        correlationId: first.correlationId ?? first.id,
      });
    });
    return batch;
  }

  private inboxOf(group: ConsumerGroup): Inbox {
    if (!this.inboxes.has(group)) this.inboxes.set(group, new Inbox(this.dataSource, group));
    return this.inboxes.get(group)!;
  }
}
