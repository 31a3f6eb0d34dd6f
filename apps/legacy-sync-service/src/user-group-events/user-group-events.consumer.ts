import { Controller, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { DataSource, EntityManager } from 'typeorm';
import {
  ConsumerGroup,
  DecodedEvent,
  EventType,
  LegacySyncCompletedData,
  toCeTime,
  Topic,
} from '@groups-sync/contracts';
import { ConsumeEvents, HandlerContext, Inbox, OutboxWriter } from '@groups-sync/messaging';
import { isDuplicateKeyError, deletedAtOrAfter, recordGroupDeleted } from '@groups-sync/persistence';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacyLink } from '../links/legacy-link.entity';
import { ReconciliationRuns } from '../reconciliation/reconciliation-runs';
import { LegacyWrites, isForTheLms, MembershipEvent } from './legacy-writes.service';

type SyncResult = LegacySyncCompletedData['sync_result'];

/**
 * User Group → LMS. Links a new legacy-linked group through its kind (kinds/), follows renames and
 * deletions, and hands membership changes to LegacyWrites in batches. LMS calls are set-valued ("ensure in
 * cohort"), so a redelivered event repeats them harmlessly; the inbox keeps the recorded effects single.
 */
@Controller()
export class UserGroupEventsConsumer {
  private readonly logger = new Logger(UserGroupEventsConsumer.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly kinds: LegacyKinds,
    private readonly outbox: OutboxWriter,
    private readonly writes: LegacyWrites,
    private readonly reconciliations: ReconciliationRuns,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncUserGroups);
  }

  /**
   * In order: a group's lifecycle event is handled alone (it is rare, and its memberships may need
   * it); the membership changes between them go to the cohorts API together. Membership changes of
   * groups that mirror nothing, and changes that came from the LMS, are skipped before any database
   * work (a refresh of a large dynamic group is all of the first kind).
   */
  @ConsumeEvents({
    group: ConsumerGroup.LegacySyncUserGroups,
    topics: [Topic.UserGroupLifecycle],
    types: [
      EventType.UserGroupCreated,
      EventType.UserGroupUpdated,
      EventType.UserGroupDeleted,
      EventType.UserGroupMembershipChanged,
    ],
    filter: (e) =>
      e.type !== EventType.UserGroupMembershipChanged || isForTheLms((e as MembershipEvent).data.membership),
  })
  async onBatch(@Payload() events: DecodedEvent[], @Ctx() context?: HandlerContext): Promise<void> {
    const fresh = await this.inbox.unseen(events); // redeliveries are not sent to the LMS again
    const replayed = context?.replayed === true;
    let run: MembershipEvent[] = [];
    for (const event of fresh) {
      if (event.type === EventType.UserGroupMembershipChanged) {
        run.push(event as MembershipEvent);
        continue;
      }
      await this.writes.apply(run, replayed);
      run = [];
      if (
        event.type !== EventType.UserGroupDeleted &&
        (await this.deletedAlready(event as DecodedEvent<EventType.UserGroupCreated | EventType.UserGroupUpdated>))
      )
        continue;
      if (event.type === EventType.UserGroupCreated)
        await this.onGroupCreated(event as DecodedEvent<EventType.UserGroupCreated>);
      else if (event.type === EventType.UserGroupUpdated)
        await this.onGroupUpdated(event as DecodedEvent<EventType.UserGroupUpdated>);
      else await this.onGroupDeleted(event as DecodedEvent<EventType.UserGroupDeleted>);
    }
    await this.writes.apply(run, replayed);
  }

  /**
   * Links the group to the legacy group its criterion names, as its kind finds or makes it in the
   * LMS. Refused with the reason (in the report and in `legacy_link.last_error`): what the kind
   * refuses, and a legacy group another group mirrors already (one group each: checked here, and
   * held by the link's unique key). Linking one that existed imports its members (a reconciliation
   * run of the group, queued in the link's transaction).
   */
  private async onGroupCreated(event: DecodedEvent<EventType.UserGroupCreated>): Promise<void> {
    const group = event.data.user_group;
    const asked = this.kinds.forGroup(group);
    if (!asked) return;
    const { kind } = asked;
    let decision = await kind.link(group, asked.config);
    if (decision.refusal === undefined) {
      const holder = await this.dataSource
        .getRepository(LegacyLink)
        .findOneBy({ courseKey: group.scope_key, legacyType: decision.linkType, legacyId: decision.legacyId });
      if (holder && holder.groupId !== group.id)
        decision = { linkType: decision.linkType, refusal: kind.mirroredBy(decision, group, holder.groupId) };
    }
    const linked = decision.refusal === undefined ? decision : null;
    const link = {
      groupId: group.id,
      courseKey: group.scope_key,
      legacyType: decision.linkType,
      legacyId: linked?.legacyId ?? null,
      legacyName: linked?.legacyName ?? null,
      groupName: group.name,
      state: linked ? ('linked' as const) : ('rejected' as const),
      lastError: decision.refusal ?? null,
    };
    const result = linked
      ? this.result(group.id, 'synced', null, linked.reportedId, kind.legacyType)
      : this.result(group.id, 'rejected', decision.refusal!, null, kind.legacyType);
    try {
      await this.record(event, async (manager) => {
        await manager.upsert(LegacyLink, link, ['groupId']);
        await this.outbox.append(
          manager,
          EventType.LegacySyncCompleted,
          { sync_result: result },
          { causationId: event.metadata.id, correlationId: event.metadata.correlationId },
        );
        if (linked?.existed)
          await this.reconciliations.request(
            { scope_type: 'group', scope_key: group.id },
            { dryRun: false, trigger: 'link', requestedBy: event.metadata.source },
            manager,
          );
      });
    } catch (error) {
      // Another group took it between our check and our write (the unique key says so).
      if (!isDuplicateKeyError(error) || !linked) throw error;
      const refused = this.result(group.id, 'rejected', kind.takenMeanwhile(linked, group), null, kind.legacyType);
      await this.record(event, async (manager) => {
        await manager.upsert(
          LegacyLink,
          { ...link, legacyId: null, legacyName: null, state: 'rejected', lastError: refused.error },
          ['groupId'],
        );
        await this.outbox.append(
          manager,
          EventType.LegacySyncCompleted,
          { sync_result: refused },
          { causationId: event.metadata.id, correlationId: event.metadata.correlationId },
        );
      });
    }
  }

  /** A renamed group renames its legacy group where its kind follows names (cohorts), so both sides show one name. */
  private async onGroupUpdated(event: DecodedEvent<EventType.UserGroupUpdated>): Promise<void> {
    const group = event.data.user_group;
    const link = await this.dataSource.getRepository(LegacyLink).findOneBy({ groupId: group.id });
    const kind = link ? this.kinds.of(link) : undefined;
    if (!link || !kind?.rename || !link.legacyId || link.groupName === group.name) return;
    const refusal = await kind.rename(link, group.name);
    const result = this.result(group.id, refusal ? 'rejected' : 'synced', refusal, link.legacyId, kind.legacyType);
    await this.record(event, async (manager) => {
      if (result.status === 'synced')
        await manager.update(LegacyLink, { groupId: group.id }, { groupName: group.name, legacyName: group.name });
      await this.outbox.append(
        manager,
        EventType.LegacySyncCompleted,
        { sync_result: result },
        { causationId: event.metadata.id, correlationId: event.metadata.correlationId },
      );
    });
  }

  /**
   * Deleting (unlinking) a group forgets its link; its kind may delete the legacy group with it (a
   * team), unless the group was deleted with `?unlink=true`. The LMS cannot delete cohorts or tracks.
   */
  private async onGroupDeleted(event: DecodedEvent<EventType.UserGroupDeleted>): Promise<void> {
    const group = event.data.user_group;
    const link = await this.dataSource.getRepository(LegacyLink).findOneBy({ groupId: group.id });
    const fresh = (await this.inbox.unseen([event])).length > 0; // a redelivery deletes nothing again
    const kind = link ? this.kinds.of(link) : undefined;
    if (link?.legacyId && kind?.deleteLegacyGroup && !group.unlink && fresh) await kind.deleteLegacyGroup(link);
    await this.record(event, async (manager) => {
      await recordGroupDeleted(manager, group.id, group.version);
      await manager.delete(LegacyLink, { groupId: group.id });
    });
  }

  /**
   * A created or updated event no newer than the group's deletion (a dead letter replayed after its
   * inbox row was pruned, a late delivery) would make a cohort or team and a link for a group that
   * is gone: it is recorded as seen and does nothing.
   */
  private async deletedAlready(
    event: DecodedEvent<EventType.UserGroupCreated | EventType.UserGroupUpdated>,
  ): Promise<boolean> {
    const group = event.data.user_group;
    const deleted = await deletedAtOrAfter(this.dataSource.manager, group.id, group.version);
    if (deleted === null) return false;
    this.logger.log(
      `${event.type} of group ${group.id} (version ${group.version}) ignored: the group was deleted at version ${deleted}`,
    );
    await this.inbox.process(event, async () => undefined);
    return true;
  }

  private async record(event: DecodedEvent, work: (manager: EntityManager) => Promise<unknown>): Promise<void> {
    await this.inbox.process(event, async (manager) => {
      await work(manager);
    });
    // A link's import run, queued in that transaction, starts now rather than at the worker's next poll.
    if (event.type === EventType.UserGroupCreated) void this.reconciliations.work();
  }

  private result(
    groupId: string,
    status: SyncResult['status'],
    error: string | null,
    legacyId: string | null,
    legacyType: SyncResult['legacy_type'],
  ): SyncResult {
    return {
      group_id: groupId,
      user_id: null,
      status,
      error,
      legacy_type: legacyType,
      legacy_id: legacyId,
      occurred_at: toCeTime(new Date()),
      change_occurred_at: null,
    };
  }
}
