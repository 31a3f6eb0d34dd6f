import { Controller, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, In, IsNull, MoreThan } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, isCourseKey, LegacyMembershipObservedData, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, Inbox, metric, OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { recordCourseActivity } from '../reconciliation/course-activity';

type TeamEvent = DecodedEvent<EventType.TeamMembershipAdded | EventType.TeamMembershipRemoved>;

const ECHO_WINDOW_MS = 15 * 60 * 1000;
const observed = metric('team_observations_total', () => new Counter({ name: 'team_observations_total', help: 'Team membership events, by outcome', labelNames: ['outcome'] }));

/**
 * LMS → User Group for teams, where the LMS emits the proposed `team_membership.added|removed.v1`
 * events (edx-platform emits no team event today; reconciliation on a short cadence covers teams
 * without them). Each event becomes an observation for the group mirroring the team and for the
 * group mirroring its whole teamset, dated by the event's ce_time; the echo of one of our own adds is
 * marked as such by its pending write, as for cohorts.
 */
@Controller()
export class TeamMembershipConsumer {
  private readonly logger = new Logger(TeamMembershipConsumer.name);
  private readonly inbox: Inbox;

  constructor(private readonly dataSource: DataSource, private readonly outbox: OutboxWriter) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncTeamEvents);
  }

  @ConsumeEvents({ group: ConsumerGroup.LegacySyncTeamEvents, topics: [Topic.LmsTeamMembership], types: [EventType.TeamMembershipAdded, EventType.TeamMembershipRemoved] })
  async onBatch(events: TeamEvent[]): Promise<void> {
    for (const event of events) {
      const t = event.data.team_membership;
      if (!(t?.user?.id > 0) || !t.user.pii?.username || !isCourseKey(t.course?.course_key ?? '') || !t.team?.team_id || !t.team.teamset_id) {
        throw new PoisonMessageError('INVALID_DATA', 'team membership event without a user id, username, course key, team id or teamset id', event);
      }
      if (Number.isNaN(new Date(event.metadata.time).getTime())) throw new PoisonMessageError('INVALID_DATA', `ce_time "${event.metadata.time}" is not a time`, event);
    }
    const courses = [...new Set(events.map((e) => e.data.team_membership.course.course_key))];
    const links = await this.dataSource.getRepository(LegacyLink).find({ where: { courseKey: In(courses), legacyType: In(['team', 'teamset']), state: 'linked' } });
    const counts = { forwarded: 0, echo: 0, unlinked: 0 };
    if (links.length) {
      await this.inbox.processBatch(events, async (manager, fresh) => {
        const targets = fresh.map((event) => {
          const { course, team } = event.data.team_membership;
          return { event, links: links.filter((l) => l.courseKey === course.course_key && ((l.legacyType === 'team' && l.legacyId === team.team_id) || (l.legacyType === 'teamset' && l.legacyId === team.teamset_id))) };
        });
        const linked = targets.filter((x) => x.links.length);
        counts.unlinked = fresh.length - linked.length;
        if (!linked.length) return;
        const pending = await manager.find(PendingLmsWrite, {
          where: {
            courseKey: In(courses), userId: In([...new Set(linked.map((x) => x.event.data.team_membership.user.id))]), action: 'added',
            confirmedAt: IsNull(), createdAt: MoreThan(new Date(Date.now() - ECHO_WINDOW_MS)),
          },
          order: { id: 'ASC' },
          lock: { mode: 'pessimistic_write' },
        });
        const confirmed: string[] = [];
        const observations: LegacyMembershipObservedData[] = [];
        for (const { event, links: mirrors } of linked) {
          const { user, course } = event.data.team_membership;
          const action = event.type === EventType.TeamMembershipAdded ? 'added' : 'removed';
          for (const link of mirrors) {
            // The echo of our own add to this team: its pending write, the oldest first.
            const echo = action === 'added' && link.legacyType === 'team'
              ? pending.find((p) => p.legacyId === link.legacyId && p.userId === user.id && !confirmed.includes(p.id)) : undefined;
            if (echo) confirmed.push(echo.id);
            counts[echo ? 'echo' : 'forwarded']++;
            observations.push({
              observation: {
                group_id: link.groupId, course_key: course.course_key, user_id: user.id, username: user.pii.username, action,
                observed_at: new Date(event.metadata.time).toISOString(), source_event_id: event.metadata.id, echo_of_change_at: echo?.changeOccurredAt ?? null,
              },
            });
          }
        }
        if (confirmed.length) await manager.update(PendingLmsWrite, { id: In(confirmed) }, { confirmedAt: new Date() });
        await recordCourseActivity(manager, courses);
        await this.outbox.appendMany(manager, EventType.LegacyMembershipObserved, observations, { causationId: linked[0].event.metadata.id, correlationId: linked[0].event.metadata.correlationId ?? linked[0].event.metadata.id });
      });
    } else {
      counts.unlinked = events.length;
    }
    for (const [outcome, n] of Object.entries(counts)) if (n) observed.inc({ outcome }, n);
    this.logger.debug(`team events: ${JSON.stringify(counts)}`);
  }
}
