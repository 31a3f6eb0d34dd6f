import { Injectable, Logger } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, LegacySyncCompletedData, toCeTime, UserGroupMembershipChangedData } from '@groups-sync/contracts';
import { Inbox, OutboxWriter } from '@groups-sync/messaging';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { redactPersonalData } from '@groups-sync/observability';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';
import { LmsTeamsClient } from '../lms/lms-teams.client';
import { LmsWritePauses } from '../lms-writes/lms-write-pauses';
import { recordCourseActivity } from '../reconciliation/course-activity';
import { GroupMembershipsClient } from '../reconciliation/group-memberships.client';

export type MembershipEvent = DecodedEvent<EventType.UserGroupMembershipChanged>;
type Membership = UserGroupMembershipChangedData['membership'];
type SyncResult = LegacySyncCompletedData['sync_result'];

/**
 * Changes that came from the LMS are there already; the LMS retires a retired user's side itself;
 * groups that mirror nothing have nothing to write.
 */
export function isForTheLms(m: Membership): boolean {
  return m.origin !== 'legacy' && m.origin !== 'reconciliation' && m.origin !== 'retirement' && m.legacy_linked !== false;
}

export interface Write { event: MembershipEvent; link: LegacyLink; result?: SyncResult; pendingId?: string; echoExpected?: boolean }

/**
 * Membership changes of cohort- and team-linked groups → the LMS cohorts and teams APIs, a batch at a time.
 * - The batch is cut into waves in which each learner appears once: a wave's calls may then run
 *   side by side without reordering anyone's changes, and waves run one after the other.
 * - Within a wave, the adds to one cohort go in one call of the cohorts API (it takes a list;
 *   `LMS_COHORT_ADD_MAX_USERS` per call); team adds are one POST each and removals one DELETE each
 *   (the LMS has no bulk form of them). At most `LMS_CONCURRENCY` calls are in flight.
 * - Adds are recorded as pending writes (committed before the call) so the LMS's echo is known.
 * - Each wave's results (synced or rejected, naming the change they answer) and inbox rows are
 *   written in one transaction; an LMS outage throws before that, and the wave is retried.
 */
@Injectable()
export class LegacyWrites {
  private readonly logger = new Logger(LegacyWrites.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly lms: LmsCohortsClient,
    private readonly outbox: OutboxWriter,
    private readonly config: LegacySyncServiceConfig,
    private readonly pauses: LmsWritePauses,
    private readonly groups: GroupMembershipsClient,
    private readonly teams: LmsTeamsClient,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncUserGroups);
  }

  /** `replayed`: the events come from the retry topic (an operator's replay of dead letters). */
  async apply(events: MembershipEvent[], replayed = false): Promise<void> {
    if (!events.length) return;
    if (replayed) events = await this.stillLatest(events);
    const ids = new Set(events.flatMap((e) => [e.data.membership.group_id, e.data.membership.moved_to_group_id ?? []].flat()));
    const links = new Map((await this.dataSource.getRepository(LegacyLink).find({ where: { groupId: In([...ids]) } })).map((l) => [l.groupId, l]));
    for (const { writes, recordable } of cutWaves(events, links)) await this.run(writes, recordable);
  }

  /**
   * A replayed change that groups-service has changed again since is recorded and not sent: the
   * newer change reached the LMS (or will), and the old one must not undo it.
   */
  private async stillLatest(events: MembershipEvent[]): Promise<MembershipEvent[]> {
    const { memberships } = await this.groups.of([...new Set(events.map((e) => e.data.membership.group_id))]);
    const changedAt = new Map(memberships.map((m) => [`${m.group_id}|${m.user_id}`, Date.parse(m.changed_at)]));
    const outdated = events.filter((e) => (changedAt.get(`${e.data.membership.group_id}|${e.data.membership.user_id}`) ?? -Infinity) > Date.parse(e.data.membership.occurred_at));
    if (!outdated.length) return events;
    this.logger.log(`${outdated.length} replayed membership changes are older than the groups' current state: recorded, not sent`);
    await this.inbox.processBatch(outdated, async () => undefined);
    return events.filter((e) => !outdated.includes(e));
  }

  private async run(wave: Write[], recordable: MembershipEvent[]): Promise<void> {
    if (!recordable.length) return;
    // An operator's pause holds the wave (and the partition behind it) until resumed, in order.
    for (const course of new Set(wave.map((w) => w.link.courseKey))) await this.pauses.assertWritable(course);
    for (const w of wave) {
      if (!w.link.legacyId) w.result = this.result(w, 'rejected', `the group's ${w.link.legacyType} is not linked: ${w.link.lastError ?? 'unknown reason'}`);
    }
    const adds = wave.filter((w) => !w.result && w.event.data.membership.action === 'added');
    const removals = wave.filter((w) => !w.result && w.event.data.membership.action === 'removed');
    // Recorded (and committed) before the calls, so an echo that comes before the answer is known.
    if (adds.length) {
      const inserted = await this.dataSource.getRepository(PendingLmsWrite).insert(adds.map((w) => ({
        groupId: w.link.groupId, courseKey: w.link.courseKey, legacyId: w.link.legacyId!, userId: w.event.data.membership.user_id,
        action: 'added' as const, sourceEventId: w.event.metadata.id, changeOccurredAt: w.event.data.membership.occurred_at, confirmedAt: null,
      })));
      adds.forEach((w, i) => (w.pendingId = String(inserted.identifiers[i].id)));
    }
    const calls: Array<() => Promise<void>> = [];
    const byCohort = new Map<string, Write[]>();
    for (const w of adds) {
      if (w.link.legacyType === 'team') {
        calls.push(() => this.addToTeam(w)); // the teams API adds one learner a call
        continue;
      }
      const k = `${w.link.courseKey}|${w.link.legacyId}`;
      if (!byCohort.has(k)) byCohort.set(k, []);
      byCohort.get(k)!.push(w);
    }
    for (const writes of byCohort.values()) {
      for (let i = 0; i < writes.length; i += this.config.LMS_COHORT_ADD_MAX_USERS) {
        const chunk = writes.slice(i, i + this.config.LMS_COHORT_ADD_MAX_USERS);
        calls.push(() => this.add(chunk));
      }
    }
    for (const w of removals) calls.push(() => (w.link.legacyType === 'team' ? this.removeFromTeam(w) : this.remove(w)));
    const failures = await runLimited(calls, this.config.LMS_CONCURRENCY);
    // A pending write with no echo to come would swallow a genuine LMS change for this user.
    const unconfirmable = adds.filter((w) => !w.echoExpected).map((w) => w.pendingId!);
    if (unconfirmable.length) await this.dataSource.getRepository(PendingLmsWrite).delete({ id: In(unconfirmable) });
    if (failures.length) throw failures[0]; // the LMS is down: retried, in order, without recording anything of this wave
    await this.inbox.processBatch(recordable, async (manager, fresh) => {
      // Only for changes not recorded meanwhile (by an instance that owned the partition before).
      const unrecorded = new Set(fresh);
      const results = wave.filter((w) => w.result && unrecorded.has(w.event)).map((w) => ({ sync_result: w.result! }));
      await this.outbox.appendMany(manager, EventType.LegacySyncCompleted, results);
      await recordCourseActivity(manager, wave.map((w) => w.link.courseKey));
    });
    for (const w of wave) {
      if (w.result?.status === 'rejected') {
        const { action, user_id: userId, username } = w.event.data.membership;
        this.logger.warn(`LMS refused ${action} of user ${userId} in group ${w.link.groupId}: ${redactPersonalData(w.result.error ?? '', [username])}`);
      }
    }
  }

  /** One call of the cohorts API for many learners; its answer sorts them one by one. */
  private async add(writes: Write[]): Promise<void> {
    const { courseKey, legacyId } = writes[0].link;
    try {
      const res = await this.lms.addUsers(courseKey, Number(legacyId), writes.map((w) => w.event.data.membership.username));
      // Only an add or a move emits COHORT_MEMBERSHIP_CHANGED.
      const moved = new Set([...res.added, ...res.changed].map((u) => u.username.toLowerCase()));
      const refused = new Set([...res.unknown, ...res.invalid, ...res.preassigned].map((u) => u.toLowerCase()));
      for (const w of writes) {
        const name = w.event.data.membership.username.toLowerCase();
        w.echoExpected = moved.has(name);
        w.result = refused.has(name) ? this.result(w, 'rejected', `LMS does not know user "${w.event.data.membership.username}"`) : this.result(w, 'synced', null);
        w.result.lms_echo_expected = w.echoExpected;
      }
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      for (const w of writes) w.result = this.result(w, 'rejected', error.message);
    }
  }

  private async remove(w: Write): Promise<void> {
    try {
      await this.lms.removeUser(w.link.courseKey, Number(w.link.legacyId), w.event.data.membership.username);
      w.result = this.result(w, 'synced', null);
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      // Removing someone who is not (or no longer) in the cohort leaves the state we wanted.
      const alreadyGone = error.errorCode === 'user-not-in-cohort';
      w.result = this.result(w, alreadyGone ? 'synced' : 'rejected', alreadyGone ? null : error.message);
    }
  }

  /**
   * One learner into a team. Refusals (team full, already on a team of the teamset, not enrolled,
   * an instructor-managed teamset) come back as 400/403 with the LMS's message: the membership is
   * reverted with it. An echo comes only from an LMS that emits the proposed team events.
   */
  private async addToTeam(w: Write): Promise<void> {
    try {
      await this.teams.addMember(w.link.legacyId!, w.event.data.membership.username);
      w.echoExpected = this.config.LMS_EMITS_TEAM_EVENTS;
      w.result = { ...this.result(w, 'synced', null), lms_echo_expected: w.echoExpected };
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      w.result = this.result(w, 'rejected', teamRefusal(error));
    }
  }

  private async removeFromTeam(w: Write): Promise<void> {
    try {
      await this.teams.removeMember(w.link.legacyId!, w.event.data.membership.username);
      w.result = this.result(w, 'synced', null);
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      // Not on the team (404): the state we wanted.
      w.result = error.status === 404 ? this.result(w, 'synced', null) : this.result(w, 'rejected', teamRefusal(error));
    }
  }

  private result(w: Write, status: SyncResult['status'], error: string | null): SyncResult {
    const m = w.event.data.membership;
    return {
      group_id: m.group_id, user_id: m.user_id, status, error, legacy_type: w.link.legacyType === 'team' ? 'team' : 'cohort', legacy_id: w.link.legacyId,
      occurred_at: toCeTime(new Date()), change_occurred_at: m.occurred_at,
    };
  }
}

/** The LMS's reason, without the request line (`LMS POST /api/team/v0/team_membership/: 400 This team is already full.`). */
export function teamRefusal(error: LmsRejectedError): string {
  return error.message.replace(/^LMS \w+ \S+: \d{3} /, '') || `refused by the LMS (${error.status})`;
}

/**
 * Cuts a batch, in order, into waves in which each learner (per course) appears at most once, so
 * a wave's LMS calls can run side by side and waves one after the other. Events with nothing to
 * write (not mirrored, from the LMS, the removal half of a move between the course's cohorts) are
 * only recorded, with the wave they fall in.
 */
export function cutWaves(events: MembershipEvent[], links: Map<string, LegacyLink>): Array<{ writes: Write[]; recordable: MembershipEvent[] }> {
  const waves: Array<{ writes: Write[]; recordable: MembershipEvent[] }> = [{ writes: [], recordable: [] }];
  const learners = new Set<string>();
  for (const event of events) {
    const m = event.data.membership;
    const link = links.get(m.group_id);
    const target = m.moved_to_group_id ? links.get(m.moved_to_group_id) : undefined;
    let wave = waves[waves.length - 1];
    if (!isForTheLms(m) || !link || (link.legacyType !== 'cohort' && link.legacyType !== 'team')
      || (m.action === 'removed' && target?.legacyType === 'cohort' && target.courseKey === link.courseKey)) {
      wave.recordable.push(event);
      continue;
    }
    const learner = `${link.courseKey}|${m.user_id}`;
    if (learners.has(learner)) {
      waves.push((wave = { writes: [], recordable: [] }));
      learners.clear();
    }
    learners.add(learner);
    wave.writes.push({ event, link });
    wave.recordable.push(event);
  }
  return waves.filter((w) => w.recordable.length);
}

/** Runs the calls with at most `limit` in flight; answers the errors of those that failed. */
export async function runLimited(calls: Array<() => Promise<void>>, limit: number): Promise<unknown[]> {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < calls.length) {
      const call = calls[next++];
      await call().catch((error) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, calls.length) }, worker));
  return failures;
}
