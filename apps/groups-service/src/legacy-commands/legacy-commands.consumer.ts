import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, Topic } from '@groups-sync/contracts';
import { EventConsumers, Inbox, OutboxRelay, PoisonMessageError } from '@groups-sync/messaging';
import { ChangeContext } from '../audit/change-context';
import { MembershipsService } from '../memberships/memberships.service';

/** Applies what legacy-sync-service saw in the LMS (memberships) and what it did there (sync results). */
@Injectable()
export class LegacyCommandsConsumer implements OnModuleInit {
  private readonly inbox: Inbox;

  constructor(
    private readonly consumers: EventConsumers,
    private readonly memberships: MembershipsService,
    private readonly relay: OutboxRelay,
    dataSource: DataSource,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.GroupsLegacyCommands);
  }

  onModuleInit(): void {
    this.consumers.register({
      group: ConsumerGroup.GroupsLegacyCommands,
      topics: [Topic.UserGroupLegacyCommands],
      handlers: {
        [EventType.LegacyMembershipObserved]: (event) => this.onObserved(event),
        [EventType.LegacySyncCompleted]: (event) => this.onSyncCompleted(event),
      },
    });
  }

  private async onObserved(event: DecodedEvent<EventType.LegacyMembershipObserved>): Promise<void> {
    const observedAt = new Date(event.data.observation.observed_at);
    if (Number.isNaN(observedAt.getTime())) throw new PoisonMessageError('INVALID_DATA', `observed_at "${event.data.observation.observed_at}" is not a time`);
    const ctx = this.context(event, observedAt);
    await this.inbox.process(event, (manager) => this.memberships.applyLegacyObservation(manager, event.data, ctx).then(() => undefined));
    this.relay.notify();
  }

  private async onSyncCompleted(event: DecodedEvent<EventType.LegacySyncCompleted>): Promise<void> {
    const ctx = this.context(event, new Date());
    await this.inbox.process(event, (manager) => this.memberships.applySyncResult(manager, event.data, ctx));
    this.relay.notify();
  }

  private context(event: DecodedEvent, at: Date): ChangeContext {
    return { actor: event.metadata.source, trigger: 'legacy', origin: 'legacy', at, correlationId: event.metadata.correlationId, causationId: event.metadata.id };
  }
}
