import { Controller, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { ConsumerGroup, EventType, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, metric } from '@groups-sync/messaging';
import { CohortKind } from '../kinds/cohort/cohort.kind';
import { CohortEvent } from '../kinds/cohort/cohort-membership.events';
import { LmsObservations } from './lms-observations.pipeline';

const observed = metric(
  'legacy_observations_total',
  () =>
    new Counter({
      name: 'legacy_observations_total',
      help: 'LMS membership events, by outcome',
      labelNames: ['outcome'],
    }),
);

/** COHORT_MEMBERSHIP_CHANGED and the proposed removal → observations of the cohort-linked groups (LmsObservations). */
@Controller()
export class CohortMembershipConsumer {
  private readonly logger = new Logger(CohortMembershipConsumer.name);

  constructor(
    private readonly observations: LmsObservations,
    private readonly kind: CohortKind,
  ) {}

  @ConsumeEvents({
    group: ConsumerGroup.LegacySyncLmsEvents,
    topics: [Topic.LmsCohortMembership],
    types: [EventType.CohortMembershipChanged, EventType.CohortMembershipRemoved],
  })
  async onBatch(events: CohortEvent[]): Promise<void> {
    const batch = await this.observations.observe(ConsumerGroup.LegacySyncLmsEvents, this.kind, events);
    const counts = {
      forwarded: batch.observed.filter((o) => !o.echo).length,
      echo: batch.observed.filter((o) => o.echo).length,
      unlinked: batch.unlinked,
    };
    for (const [outcome, n] of Object.entries(counts)) if (n) observed.inc({ outcome }, n);
    this.logger.debug(`cohort events: ${JSON.stringify(counts)}`);
  }
}
