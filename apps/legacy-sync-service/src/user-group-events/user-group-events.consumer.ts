import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, LegacySyncCompletedData, toCeTime, Topic } from '@groups-sync/contracts';
import { EventConsumers, Inbox, OutboxRelay, OutboxWriter } from '@groups-sync/messaging';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { CohortDirectory } from '../lms/cohort-directory';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';

type SyncResult = LegacySyncCompletedData['sync_result'];

/**
 * User Group → LMS. Creates or finds the cohort a new cohort-linked group mirrors, and applies
 * membership changes through the cohorts API. LMS calls are set-valued ("ensure in cohort"), so a
 * redelivered event repeats them harmlessly; the inbox keeps the recorded effects single.
 */
@Injectable()
export class UserGroupEventsConsumer implements OnModuleInit {
  private readonly logger = new Logger(UserGroupEventsConsumer.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly consumers: EventConsumers,
    private readonly dataSource: DataSource,
    private readonly lms: LmsCohortsClient,
    private readonly directory: CohortDirectory,
    private readonly outbox: OutboxWriter,
    private readonly relay: OutboxRelay,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncUserGroups);
  }

  onModuleInit(): void {
    this.consumers.register({
      group: ConsumerGroup.LegacySyncUserGroups,
      topics: [Topic.UserGroupLifecycle],
      handlers: {
        [EventType.UserGroupCreated]: this.unlessSeen((e) => this.onGroupCreated(e)),
        [EventType.UserGroupMembershipChanged]: this.unlessSeen((e) => this.onMembershipChanged(e)),
        [EventType.UserGroupUpdated]: this.unlessSeen((e) => this.onGroupUpdated(e)),
        [EventType.UserGroupDeleted]: (e) => this.onGroupDeleted(e),
      },
    });
  }

  /** A redelivered event was applied already: skip it before calling the LMS again. */
  private unlessSeen<T extends EventType>(handle: (event: DecodedEvent<T>) => Promise<void>) {
    return async (event: DecodedEvent<T>) => {
      if (!(await this.inbox.seen(event))) await handle(event);
    };
  }

  private async onGroupCreated(event: DecodedEvent<EventType.UserGroupCreated>): Promise<void> {
    const group = event.data.user_group;
    const criterion = group.criteria.find((c) => c.type === 'legacy_cohort');
    if (!criterion || group.scope_type !== 'course') return;
    const requested = (JSON.parse(criterion.config || '{}') as { cohort_id?: number | null }).cohort_id ?? null;
    let result: SyncResult;
    try {
      const cohort = requested !== null ? await this.lms.getCohort(group.scope_key, requested) : await this.ensureCohort(group.scope_key, group.name);
      this.directory.remember(group.scope_key, cohort.name, cohort.id);
      result = this.result(group.id, null, 'synced', null, String(cohort.id));
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error; // LMS down: retry with backoff
      result = this.result(group.id, null, 'rejected', error.message, requested === null ? null : String(requested));
    }
    await this.record(event, async (manager) => {
      await manager.upsert(LegacyLink, {
        groupId: group.id, courseKey: group.scope_key, legacyType: 'cohort', legacyId: result.legacy_id, groupName: group.name,
        state: result.status === 'synced' ? 'linked' : 'rejected', lastError: result.error,
      }, ['groupId']);
      await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
    });
  }

  /** A renamed cohort-linked group renames its cohort, so both sides show one name. */
  private async onGroupUpdated(event: DecodedEvent<EventType.UserGroupUpdated>): Promise<void> {
    const group = event.data.user_group;
    const link = await this.dataSource.getRepository(LegacyLink).findOneBy({ groupId: group.id });
    if (!link || link.legacyType !== 'cohort' || !link.legacyId || link.groupName === group.name) return;
    let result: SyncResult;
    try {
      await this.lms.renameCohort(link.courseKey, Number(link.legacyId), group.name);
      this.directory.remember(link.courseKey, group.name, Number(link.legacyId));
      result = this.result(group.id, null, 'synced', null, link.legacyId);
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      result = this.result(group.id, null, 'rejected', `cohort not renamed: ${error.message}`, link.legacyId);
    }
    await this.record(event, async (manager) => {
      if (result.status === 'synced') await manager.update(LegacyLink, { groupId: group.id }, { groupName: group.name });
      await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
    });
  }

  /** The LMS cannot delete cohorts: deleting (unlinking) the group only forgets the link. */
  private async onGroupDeleted(event: DecodedEvent<EventType.UserGroupDeleted>): Promise<void> {
    await this.record(event, (manager) => manager.delete(LegacyLink, { groupId: event.data.user_group.id }));
  }

  /** Find the cohort by name first: the v1 create answers 500 on a duplicate name. */
  private async ensureCohort(courseKey: string, name: string) {
    const existing = (await this.lms.listCohorts(courseKey)).find((c) => c.name === name);
    return existing ?? this.lms.createCohort(courseKey, name);
  }

  private async onMembershipChanged(event: DecodedEvent<EventType.UserGroupMembershipChanged>): Promise<void> {
    const m = event.data.membership;
    // Changes that came from the LMS are already there.
    if (m.origin === 'legacy') return;
    const link = await this.dataSource.getRepository(LegacyLink).findOneBy({ groupId: m.group_id });
    if (!link || link.legacyType !== 'cohort') return;
    if (m.action === 'removed' && m.moved_to_group_id) {
      // Half of a move into another cohort of the course: adding there moves the learner in the LMS.
      // A move into a group with no cohort (a plain collection) must still leave this cohort.
      const target = await this.dataSource.getRepository(LegacyLink).findOneBy({ groupId: m.moved_to_group_id });
      if (target?.legacyType === 'cohort' && target.courseKey === link.courseKey) return;
    }
    if (!link.legacyId) {
      await this.record(event, (manager) => this.outbox.append(manager, EventType.LegacySyncCompleted, {
        sync_result: this.result(m.group_id, m.user_id, 'rejected', `the group's cohort is not linked: ${link.lastError ?? 'unknown reason'}`, null, m.occurred_at),
      }));
      return;
    }
    const cohortId = Number(link.legacyId);
    // An add is recorded (and committed) before the call, so the LMS's echo finds it even if it
    // arrives before the response. Removals never echo: the LMS emits nothing for them.
    const pendingId = m.action === 'added' ? await this.recordPendingAdd(event, link, m.user_id) : undefined;
    let echoExpected = false;
    let result: SyncResult;
    try {
      if (m.action === 'added') {
        const res = await this.lms.addUsers(link.courseKey, cohortId, [m.username]);
        const refused = [...res.unknown, ...res.invalid, ...res.preassigned];
        echoExpected = res.added.length + res.changed.length > 0; // only an add or a move emits COHORT_MEMBERSHIP_CHANGED
        result = refused.length
          ? this.result(m.group_id, m.user_id, 'rejected', `LMS does not know user "${m.username}"`, link.legacyId, m.occurred_at)
          : this.result(m.group_id, m.user_id, 'synced', null, link.legacyId, m.occurred_at);
      } else {
        await this.lms.removeUser(link.courseKey, cohortId, m.username);
        result = this.result(m.group_id, m.user_id, 'synced', null, link.legacyId, m.occurred_at);
      }
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) {
        // If the LMS did apply it, its echo is forwarded and groups-service finds nothing to change.
        if (pendingId) await this.dataSource.getRepository(PendingLmsWrite).delete({ id: pendingId });
        throw error;
      }
      // Removing someone who is not (or no longer) in the cohort leaves the state we wanted.
      const alreadyGone = m.action === 'removed' && error.errorCode === 'user-not-in-cohort';
      result = this.result(m.group_id, m.user_id, alreadyGone ? 'synced' : 'rejected', alreadyGone ? null : error.message, link.legacyId, m.occurred_at);
    }
    // A pending write with no echo to come would swallow a genuine LMS change for this user.
    if (pendingId && !echoExpected) await this.dataSource.getRepository(PendingLmsWrite).delete({ id: pendingId });
    await this.record(event, (manager) => this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, {
      causationId: event.metadata.id, correlationId: event.metadata.correlationId,
    }));
    if (result.status === 'rejected') this.logger.warn(`LMS refused ${m.action} of user ${m.user_id} in group ${m.group_id}: ${result.error}`);
  }

  private async recordPendingAdd(event: DecodedEvent, link: LegacyLink, userId: number): Promise<string | undefined> {
    const inserted = await this.dataSource.getRepository(PendingLmsWrite).insert({
      groupId: link.groupId, courseKey: link.courseKey, legacyId: link.legacyId!, userId, action: 'added', sourceEventId: event.metadata.id, confirmedAt: null,
    });
    return inserted.identifiers[0]?.id as string | undefined;
  }

  private async record(event: DecodedEvent, work: (manager: EntityManager) => Promise<unknown>): Promise<void> {
    await this.inbox.process(event, async (manager) => { await work(manager); });
    this.relay.notify();
  }

  private result(
    groupId: string, userId: number | null, status: SyncResult['status'], error: string | null, legacyId: string | null, changeOccurredAt: string | null = null,
  ): SyncResult {
    return { group_id: groupId, user_id: userId, status, error, legacy_type: 'cohort', legacy_id: legacyId, occurred_at: toCeTime(new Date()), change_occurred_at: changeOccurredAt };
  }
}
