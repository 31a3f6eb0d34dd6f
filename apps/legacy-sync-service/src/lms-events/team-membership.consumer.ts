import { Controller, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { ConsumerGroup, EventType, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, metric } from '@groups-sync/messaging';
import { TeamKind } from '../kinds/team/team.kind';
import { TeamEvent } from '../kinds/team/team-membership.events';
import { LmsObservations } from './lms-observations.pipeline';

const observed = metric(
  'team_observations_total',
  () =>
    new Counter({
      name: 'team_observations_total',
      help: 'Team membership events, by outcome',
      labelNames: ['outcome'],
    }),
);

/**
 * The proposed `team_membership.added|removed.v1` events, where the LMS emits them (edx-platform
 * emits no team event today; reconciliation on a short cadence covers teams without them) →
 * observations of the team- and teamset-linked groups (LmsObservations).
 */
@Controller()
export class TeamMembershipConsumer {
  private readonly logger = new Logger(TeamMembershipConsumer.name);

  constructor(
    private readonly observations: LmsObservations,
    private readonly kind: TeamKind,
  ) {}

  @ConsumeEvents({
    group: ConsumerGroup.LegacySyncTeamEvents,
    topics: [Topic.LmsTeamMembership],
    types: [EventType.TeamMembershipAdded, EventType.TeamMembershipRemoved],
  })
  async onBatch(events: TeamEvent[]): Promise<void> {
    const batch = await this.observations.observe(ConsumerGroup.LegacySyncTeamEvents, this.kind, events);
    const counts = {
      forwarded: batch.observed.filter((o) => !o.echo).length,
      echo: batch.observed.filter((o) => o.echo).length,
      unlinked: batch.unlinked,
    };
    for (const [outcome, n] of Object.entries(counts)) if (n) observed.inc({ outcome }, n);
    this.logger.debug(`team events: ${JSON.stringify(counts)}`);
  }
}
