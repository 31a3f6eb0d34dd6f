import { Controller } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, Inbox, PoisonMessageError } from '@groups-sync/messaging';
import { ChangeContext } from '../audit/change-context';
import { LegacyObservations } from './legacy-observations.applier';
import { SyncResults } from './sync-results.applier';
import { MembershipWriter } from '../memberships/membership-writer';

type Observed = DecodedEvent<EventType.LegacyMembershipObserved>;
type Completed = DecodedEvent<EventType.LegacySyncCompleted>;

/**
 * What legacy-sync-service saw in the LMS (memberships) and what it did there (sync results), a
 * partition batch at a time: one inbox read, one transaction, runs of the same type applied
 * together in their order.
 */
@Controller()
export class LegacyCommandsConsumer {
  private readonly inbox: Inbox;

  constructor(
    private readonly observations: LegacyObservations,
    private readonly results: SyncResults,
    private readonly writer: MembershipWriter,
    dataSource: DataSource,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.GroupsLegacyCommands);
  }

  @ConsumeEvents({
    group: ConsumerGroup.GroupsLegacyCommands,
    topics: [Topic.UserGroupLegacyCommands],
    types: [EventType.LegacyMembershipObserved, EventType.LegacySyncCompleted],
  })
  async onBatch(events: DecodedEvent[]): Promise<void> {
    for (const event of events) {
      if (event.type !== EventType.LegacyMembershipObserved) continue;
      const at = (event as Observed).data.observation.observed_at;
      if (Number.isNaN(new Date(at).getTime()))
        throw new PoisonMessageError('INVALID_DATA', `observed_at "${at}" is not a time`, event);
    }
    await this.inbox.processBatch(events, async (manager, fresh) => {
      // Every group the batch touches is locked once, first, in the writer's order; the runs below
      // take no group lock of their own.
      const locked = await this.writer.lockGroupsById(
        manager,
        fresh.map((e) =>
          e.type === EventType.LegacyMembershipObserved
            ? (e as Observed).data.observation.group_id
            : (e as Completed).data.sync_result.group_id,
        ),
      );
      for (const run of runsOfType(fresh)) {
        if (run[0].type === EventType.LegacyMembershipObserved) {
          await this.observations.apply(
            manager,
            (run as Observed[]).map((e) => ({
              data: e.data.observation,
              observedAt: new Date(e.data.observation.observed_at),
              ctx: e.data.observation.reconciliation_run_id
                ? { ...context(e), trigger: 'reconciliation', origin: 'reconciliation' }
                : context(e),
            })),
            locked,
          );
        } else {
          await this.results.apply(
            manager,
            (run as Completed[]).map((e) => ({ data: e.data.sync_result, ctx: context(e) })),
            locked,
          );
        }
      }
    });
  }
}

function context(event: DecodedEvent): ChangeContext {
  return {
    actor: event.metadata.source,
    trigger: 'legacy',
    origin: 'legacy',
    at: new Date(),
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.id,
  };
}

/** Consecutive events of one type, in order. */
function runsOfType(events: DecodedEvent[]): DecodedEvent[][] {
  const runs: DecodedEvent[][] = [];
  for (const e of events) {
    if (runs.length && runs[runs.length - 1][0].type === e.type) runs[runs.length - 1].push(e);
    else runs.push([e]);
  }
  return runs;
}
