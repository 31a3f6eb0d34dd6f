import { Controller, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { DataSource, EntityManager } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, LegacySyncCompletedData, toCeTime, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, HandlerContext, Inbox, OutboxWriter } from '@groups-sync/messaging';
import { isDuplicateKeyError } from '@groups-sync/persistence';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { CohortDirectory } from '../lms/cohort-directory';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';
import { LmsEnrollmentsClient } from '../lms/lms-enrollments.client';
import { LmsTeamsClient } from '../lms/lms-teams.client';
import { LinkType } from '../links/legacy-link.entity';
import { trackRefusal } from '../tracks/enrollment-tracks';
import { LmsWritePauses } from '../lms-writes/lms-write-pauses';
import { ReconciliationRuns } from '../reconciliation/reconciliation-runs';
import { LegacyWrites, isForTheLms, MembershipEvent } from './legacy-writes.service';

type SyncResult = LegacySyncCompletedData['sync_result'];
interface TeamConfig { team_id?: string | null; teamset_id?: string | null; whole_teamset?: boolean | null }

/**
 * User Group → LMS. Creates or finds the cohort a new cohort-linked group mirrors, renames it, and
 * hands membership changes to LegacyWrites in batches. LMS calls are set-valued ("ensure in
 * cohort"), so a redelivered event repeats them harmlessly; the inbox keeps the recorded effects single.
 */
@Controller()
export class UserGroupEventsConsumer {
  private readonly logger = new Logger(UserGroupEventsConsumer.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly lms: LmsCohortsClient,
    private readonly directory: CohortDirectory,
    private readonly outbox: OutboxWriter,
    private readonly writes: LegacyWrites,
    private readonly pauses: LmsWritePauses,
    private readonly reconciliations: ReconciliationRuns,
    private readonly enrollments: LmsEnrollmentsClient,
    private readonly teams: LmsTeamsClient,
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
    types: [EventType.UserGroupCreated, EventType.UserGroupUpdated, EventType.UserGroupDeleted, EventType.UserGroupMembershipChanged],
    filter: (e) => e.type !== EventType.UserGroupMembershipChanged || isForTheLms((e as MembershipEvent).data.membership),
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
      if (event.type !== EventType.UserGroupDeleted && await this.deletedAlready(event as DecodedEvent<EventType.UserGroupCreated | EventType.UserGroupUpdated>)) continue;
      if (event.type === EventType.UserGroupCreated) await this.onGroupCreated(event as DecodedEvent<EventType.UserGroupCreated>);
      else if (event.type === EventType.UserGroupUpdated) await this.onGroupUpdated(event as DecodedEvent<EventType.UserGroupUpdated>);
      else await this.onGroupDeleted(event as DecodedEvent<EventType.UserGroupDeleted>);
    }
    await this.writes.apply(run, replayed);
  }

  /**
   * Links the group to its cohort: the one named by id, else the course's cohort of the group's
   * name, else a new one. Refused with the reason: a course the LMS does not know or that is not
   * cohorted, and a cohort another group mirrors already (one group per cohort). Linking a cohort
   * that existed imports its members (a reconciliation run of the group).
   */
  private async onGroupCreated(event: DecodedEvent<EventType.UserGroupCreated>): Promise<void> {
    const group = event.data.user_group;
    const track = group.criteria.find((c) => c.type === 'legacy_enrollment_track');
    if (track && group.scope_type === 'course') return this.onTrackGroupCreated(event, (JSON.parse(track.config || '{}') as { mode?: string }).mode ?? '');
    const team = group.criteria.find((c) => c.type === 'legacy_team');
    if (team && group.scope_type === 'course') return this.onTeamGroupCreated(event, JSON.parse(team.config || '{}') as TeamConfig);
    const criterion = group.criteria.find((c) => c.type === 'legacy_cohort');
    if (!criterion || group.scope_type !== 'course') return;
    const requested = (JSON.parse(criterion.config || '{}') as { cohort_id?: number | null }).cohort_id ?? null;
    let result: SyncResult;
    let existed = true;
    let cohortName: string | null = null;
    try {
      await this.pauses.assertWritable(group.scope_key);
      const settings = await this.lms.cohortSettings(group.scope_key);
      if (!settings.is_cohorted) {
        throw new LmsRejectedError(409, 'course-not-cohorted',
          `course ${group.scope_key} is not cohorted: turn cohorts on for it in the LMS (Instructor Dashboard, Cohorts; or PUT /api/cohorts/v1/settings/{course} {"is_cohorted": true}), then create the group again`);
      }
      let cohort;
      if (requested !== null) cohort = await this.lms.getCohort(group.scope_key, requested);
      else ({ cohort, existed } = await this.ensureCohort(group.scope_key, group.name));
      const holder = await this.dataSource.getRepository(LegacyLink).findOneBy({ courseKey: group.scope_key, legacyType: 'cohort', legacyId: String(cohort.id) });
      if (holder && holder.groupId !== group.id) throw new LmsRejectedError(409, 'cohort-linked', `cohort ${cohort.id} ("${cohort.name}") is linked to group ${holder.groupId} already: a cohort mirrors one group`);
      this.directory.remember(group.scope_key, cohort.name, cohort.id);
      cohortName = cohort.name;
      result = this.result(group.id, null, 'synced', null, String(cohort.id));
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error; // LMS down: retry with backoff
      const reason = error.status === 404 && !error.errorCode?.startsWith('cohort') ? `the LMS does not know course ${group.scope_key}: ${error.message}` : error.message;
      result = this.result(group.id, null, 'rejected', reason, null);
    }
    const link = {
      groupId: group.id, courseKey: group.scope_key, legacyType: 'cohort' as const, legacyId: result.legacy_id, legacyName: cohortName, groupName: group.name,
      state: result.status === 'synced' ? 'linked' as const : 'rejected' as const, lastError: result.error,
    };
    try {
      await this.record(event, async (manager) => {
        await manager.upsert(LegacyLink, link, ['groupId']);
        await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
        if (result.status === 'synced' && existed) {
          await this.reconciliations.request({ scope_type: 'group', scope_key: group.id }, { dryRun: false, trigger: 'link', requestedBy: event.metadata.source }, manager);
        }
      });
    } catch (error) {
      // Another group took the cohort between our check and our write (the unique key says so).
      if (!isDuplicateKeyError(error)) throw error;
      result = this.result(group.id, null, 'rejected', `cohort ${result.legacy_id} is linked to another group already: a cohort mirrors one group`, null);
      await this.record(event, async (manager) => {
        await manager.upsert(LegacyLink, { ...link, legacyId: null, legacyName: null, state: 'rejected', lastError: result.error }, ['groupId']);
        await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
      });
    }
  }

  /**
   * Links a group to a course's enrollment track (read-only: the LMS's enrollments decide it) and
   * imports its learners (a reconciliation run of the group, origin `legacy`). Refused with the
   * reason: a course the LMS does not know, a mode the course does not offer, a credit track (credit
   * learners are in verified), a track another group mirrors already.
   */
  private async onTrackGroupCreated(event: DecodedEvent<EventType.UserGroupCreated>, mode: string): Promise<void> {
    const group = event.data.user_group;
    const reject = (reason: string) => this.result(group.id, null, 'rejected', reason, null, null, 'enrollment_track');
    let result: SyncResult;
    const refusal = trackRefusal(mode);
    if (refusal) {
      result = reject(refusal);
    } else {
      try {
        const modes = await this.enrollments.courseModes(group.scope_key);
        const holder = await this.dataSource.getRepository(LegacyLink).findOneBy({ courseKey: group.scope_key, legacyType: 'enrollment_track', legacyId: mode });
        result = !modes.includes(mode) ? reject(`course ${group.scope_key} offers no "${mode}" mode (it offers ${modes.join(', ') || 'none'}): edx-platform has a track group only for the course's modes`)
          : holder && holder.groupId !== group.id ? reject(`the ${mode} track of ${group.scope_key} is mirrored by group ${holder.groupId} already: a track mirrors one group`)
            : this.result(group.id, null, 'synced', null, mode, null, 'enrollment_track');
      } catch (error) {
        if (!(error instanceof LmsRejectedError)) throw error; // LMS down: retry with backoff
        // edx-platform answers 400 "No course found for course ID" for a course it does not know.
        result = reject(error.status === 404 || /no course found/i.test(error.message) ? `the LMS does not know course ${group.scope_key}: ${error.message}` : error.message);
      }
    }
    const link = {
      groupId: group.id, courseKey: group.scope_key, legacyType: 'enrollment_track' as const, legacyId: result.legacy_id, legacyName: result.legacy_id, groupName: group.name,
      state: result.status === 'synced' ? 'linked' as const : 'rejected' as const, lastError: result.error,
    };
    try {
      await this.record(event, async (manager) => {
        await manager.upsert(LegacyLink, link, ['groupId']);
        await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
        if (result.status === 'synced') await this.reconciliations.request({ scope_type: 'group', scope_key: group.id }, { dryRun: false, trigger: 'link', requestedBy: event.metadata.source }, manager);
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error; // another group took the track between our check and our write
      result = reject(`the ${mode} track of ${group.scope_key} is mirrored by another group already: a track mirrors one group`);
      await this.record(event, async (manager) => {
        await manager.upsert(LegacyLink, { ...link, legacyId: null, legacyName: null, state: 'rejected', lastError: result.error }, ['groupId']);
        await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
      });
    }
  }

  /**
   * Links a group to a team: the one named by `team_id` (it must be in the group's course), or a new
   * team named after the group in `teamset_id` (an existing team of that name there is taken); or,
   * with `whole_teamset`, read-only to every team of the teamset. Refused with the reason: an
   * unknown team, course or teamset, a team of another course, a team or teamset another group
   * mirrors. Linking what existed imports its members (a reconciliation run of the group).
   */
  private async onTeamGroupCreated(event: DecodedEvent<EventType.UserGroupCreated>, config: TeamConfig): Promise<void> {
    const group = event.data.user_group;
    const whole = config.whole_teamset === true && !!config.teamset_id;
    const reject = (reason: string) => this.result(group.id, null, 'rejected', reason, null, null, 'team');
    let result: SyncResult;
    let legacyId: string | null = null;
    let legacyName: string | null = null;
    let existed = true;
    try {
      await this.pauses.assertWritable(group.scope_key);
      if (config.team_id) {
        const team = await this.teams.getTeam(config.team_id);
        if (team.course_id !== group.scope_key) throw new LmsRejectedError(409, 'team-of-another-course', `team ${team.id} belongs to ${team.course_id}, not to ${group.scope_key}`);
        [legacyId, legacyName] = [team.id, team.name];
      } else if (whole) {
        const teamset = (await this.teams.teamsets(group.scope_key)).find((t) => t.id === config.teamset_id);
        if (!teamset) throw new LmsRejectedError(404, 'teamset-not-found', `course ${group.scope_key} has no teamset "${config.teamset_id}"`);
        [legacyId, legacyName] = [teamset.id, teamset.name];
      } else {
        const found = await this.teams.teamNamed(group.scope_key, config.teamset_id!, group.name);
        const team = found ?? await this.teams.createTeam(group.scope_key, config.teamset_id!, group.name);
        existed = !!found;
        [legacyId, legacyName] = [team.id, team.name];
      }
      const type = whole ? 'teamset' : 'team';
      const holder = await this.dataSource.getRepository(LegacyLink).findOneBy({ courseKey: group.scope_key, legacyType: type, legacyId: legacyId! });
      result = holder && holder.groupId !== group.id ? reject(`${type} ${legacyId} is mirrored by group ${holder.groupId} already: a ${type} mirrors one group`)
        // A whole teamset names no team: groups-service records nothing for it.
        : this.result(group.id, null, 'synced', null, whole ? null : legacyId, null, 'team');
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error; // LMS down: retry with backoff
      result = reject(error.status === 404 && !error.errorCode ? `the LMS does not know this team or course: ${error.message}` : error.message);
    }
    const link = {
      groupId: group.id, courseKey: group.scope_key, legacyType: (whole ? 'teamset' : 'team') as LinkType, legacyId: result.status === 'synced' ? legacyId : null,
      legacyName: result.status === 'synced' ? legacyName : null, groupName: group.name, state: result.status === 'synced' ? 'linked' as const : 'rejected' as const, lastError: result.error,
    };
    try {
      await this.record(event, async (manager) => {
        await manager.upsert(LegacyLink, link, ['groupId']);
        await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
        if (result.status === 'synced' && existed) await this.reconciliations.request({ scope_type: 'group', scope_key: group.id }, { dryRun: false, trigger: 'link', requestedBy: event.metadata.source }, manager);
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      result = reject(`${link.legacyType} ${legacyId} is mirrored by another group already`);
      await this.record(event, async (manager) => {
        await manager.upsert(LegacyLink, { ...link, legacyId: null, legacyName: null, state: 'rejected', lastError: result.error }, ['groupId']);
        await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
      });
    }
  }

  /** A renamed cohort-linked group renames its cohort, so both sides show one name. */
  private async onGroupUpdated(event: DecodedEvent<EventType.UserGroupUpdated>): Promise<void> {
    const group = event.data.user_group;
    const link = await this.dataSource.getRepository(LegacyLink).findOneBy({ groupId: group.id });
    if (!link || link.legacyType !== 'cohort' || !link.legacyId || link.groupName === group.name) return;
    let result: SyncResult;
    try {
      await this.pauses.assertWritable(link.courseKey);
      await this.lms.renameCohort(link.courseKey, Number(link.legacyId), group.name);
      this.directory.remember(link.courseKey, group.name, Number(link.legacyId));
      result = this.result(group.id, null, 'synced', null, link.legacyId);
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      result = this.result(group.id, null, 'rejected', `cohort not renamed: ${error.message}`, link.legacyId);
    }
    await this.record(event, async (manager) => {
      if (result.status === 'synced') await manager.update(LegacyLink, { groupId: group.id }, { groupName: group.name, legacyName: group.name });
      await this.outbox.append(manager, EventType.LegacySyncCompleted, { sync_result: result }, { causationId: event.metadata.id, correlationId: event.metadata.correlationId });
    });
  }

  /**
   * The LMS cannot delete cohorts or tracks: deleting (unlinking) such a group only forgets the
   * link. A team-linked group's team is deleted with it (the teams API allows it, staff only),
   * unless the group was deleted with `?unlink=true`; a whole teamset is never deleted.
   */
  private async onGroupDeleted(event: DecodedEvent<EventType.UserGroupDeleted>): Promise<void> {
    const group = event.data.user_group;
    const link = await this.dataSource.getRepository(LegacyLink).findOneBy({ groupId: group.id });
    let outcome: SyncResult | null = null;
    const fresh = (await this.inbox.unseen([event])).length > 0; // a redelivery deletes nothing again
    if (link?.legacyType === 'team' && link.legacyId && !group.unlink && fresh) {
      try {
        await this.pauses.assertWritable(link.courseKey);
        await this.teams.deleteTeam(link.legacyId);
      } catch (error) {
        if (!(error instanceof LmsRejectedError)) throw error;
        if (error.status !== 404) outcome = this.result(group.id, null, 'rejected', `team ${link.legacyId} not deleted: ${error.message}`, link.legacyId, null, 'team');
      }
      if (outcome) this.logger.warn(outcome.error!);
    }
    await this.record(event, async (manager) => {
      await manager.query('INSERT INTO deleted_group (group_id, version) VALUES (?, ?) ON DUPLICATE KEY UPDATE version = GREATEST(version, VALUES(version))', [group.id, group.version]);
      await manager.delete(LegacyLink, { groupId: group.id });
    });
  }

  /**
   * A created or updated event no newer than the group's deletion (a dead letter replayed after its
   * inbox row was pruned, a late delivery) would make a cohort or team and a link for a group that
   * is gone: it is recorded as seen and does nothing.
   */
  private async deletedAlready(event: DecodedEvent<EventType.UserGroupCreated | EventType.UserGroupUpdated>): Promise<boolean> {
    const group = event.data.user_group;
    const [deleted] = await this.dataSource.query('SELECT version FROM deleted_group WHERE group_id = ?', [group.id]) as Array<{ version: number }>;
    if (!deleted || deleted.version < group.version) return false;
    this.logger.log(`${event.type} of group ${group.id} (version ${group.version}) ignored: the group was deleted at version ${deleted.version}`);
    await this.inbox.process(event, async () => undefined);
    return true;
  }

  /** Find the cohort by name first: the v1 create answers 500 on a duplicate name. */
  private async ensureCohort(courseKey: string, name: string) {
    const existing = (await this.lms.listCohorts(courseKey)).find((c) => c.name === name);
    return existing ? { cohort: existing, existed: true } : { cohort: await this.lms.createCohort(courseKey, name), existed: false };
  }

  private async record(event: DecodedEvent, work: (manager: EntityManager) => Promise<unknown>): Promise<void> {
    await this.inbox.process(event, async (manager) => { await work(manager); });
    // A link's import run, queued in that transaction, starts now rather than at the worker's next poll.
    if (event.type === EventType.UserGroupCreated) void this.reconciliations.work();
  }

  private result(
    groupId: string, userId: number | null, status: SyncResult['status'], error: string | null, legacyId: string | null, changeOccurredAt: string | null = null,
    legacyType: SyncResult['legacy_type'] = 'cohort',
  ): SyncResult {
    return { group_id: groupId, user_id: userId, status, error, legacy_type: legacyType, legacy_id: legacyId, occurred_at: toCeTime(new Date()), change_occurred_at: changeOccurredAt };
  }
}
