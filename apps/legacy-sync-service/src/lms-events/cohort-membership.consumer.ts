import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, IsNull, MoreThan } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, Topic } from '@groups-sync/contracts';
import { EventConsumers, Inbox, metric, OutboxRelay, OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { CohortDirectory } from '../lms/cohort-directory';

const ECHO_WINDOW_MS = 15 * 60 * 1000;
const observed = metric('legacy_observations_total', () => new Counter({ name: 'legacy_observations_total', help: 'LMS membership events, by outcome', labelNames: ['outcome'] }));

/**
 * LMS → User Group. COHORT_MEMBERSHIP_CHANGED means "user is now in the cohort with this name".
 * Our own writes come back as events too: they match a pending write and stop here.
 */
@Injectable()
export class CohortMembershipConsumer implements OnModuleInit {
  private readonly logger = new Logger(CohortMembershipConsumer.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly consumers: EventConsumers,
    private readonly dataSource: DataSource,
    private readonly directory: CohortDirectory,
    private readonly outbox: OutboxWriter,
    private readonly relay: OutboxRelay,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncLmsEvents);
  }

  onModuleInit(): void {
    this.consumers.register({
      group: ConsumerGroup.LegacySyncLmsEvents,
      topics: [Topic.LmsCohortMembership],
      handlers: { [EventType.CohortMembershipChanged]: (e) => this.onCohortMembershipChanged(e) },
    });
  }

  private async onCohortMembershipChanged(event: DecodedEvent<EventType.CohortMembershipChanged>): Promise<void> {
    const { user, course, name } = event.data.cohort;
    if (!course.course_key || !name || !(user.id > 0)) {
      throw new PoisonMessageError('INVALID_DATA', 'cohort event without course key, cohort name or user id');
    }
    const observedAt = new Date(event.metadata.time);
    if (Number.isNaN(observedAt.getTime())) throw new PoisonMessageError('INVALID_DATA', `ce_time "${event.metadata.time}" is not a time`);
    if (await this.inbox.seen(event)) return; // a redelivery: no need to ask the LMS for the cohort id again
    const cohortId = await this.directory.idByName(course.course_key, name);
    const link = cohortId === null ? null
      : await this.dataSource.getRepository(LegacyLink).findOneBy({ courseKey: course.course_key, legacyType: 'cohort', legacyId: String(cohortId) });
    if (!link) {
      observed.inc({ outcome: 'unlinked' });
      return; // a cohort no User Group mirrors
    }
    let outcome = 'forwarded';
    await this.inbox.process(event, async (manager) => {
      const echo = await manager.findOne(PendingLmsWrite, {
        where: { courseKey: course.course_key, legacyId: link.legacyId!, userId: user.id, action: 'added', confirmedAt: IsNull(), createdAt: MoreThan(new Date(Date.now() - ECHO_WINDOW_MS)) },
        order: { id: 'ASC' },
        lock: { mode: 'pessimistic_write' },
      });
      if (echo) {
        outcome = 'echo';
        await manager.update(PendingLmsWrite, { id: echo.id }, { confirmedAt: new Date() });
        return;
      }
      await this.outbox.append(manager, EventType.LegacyMembershipObserved, {
        observation: {
          group_id: link.groupId, course_key: course.course_key, user_id: user.id, username: user.pii.username,
          action: 'added', observed_at: observedAt.toISOString(), source_event_id: event.metadata.id,
        },
      }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId ?? event.metadata.id });
    });
    observed.inc({ outcome });
    if (outcome === 'forwarded') this.relay.notify();
    this.logger.debug(`cohort event ${event.metadata.id}: ${outcome}`);
  }
}
