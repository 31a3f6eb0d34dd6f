import { Injectable, Logger } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import {
  ConsumerGroup,
  DecodedEvent,
  EventType,
  LegacySyncCompletedData,
  toCeTime,
  UserGroupMembershipChangedData,
} from '@groups-sync/contracts';
import { Inbox, OutboxWriter } from '@groups-sync/messaging';
import { redactPersonalData } from '@groups-sync/observability';
import { LegacyKindWrites } from '../kinds/legacy-kind.port';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacyLink } from '../links/legacy-link.entity';
import { LmsChangesSender, OutgoingChange } from '../kinds/lms-changes.sender';
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
  return (
    m.origin !== 'legacy' && m.origin !== 'reconciliation' && m.origin !== 'retirement' && m.legacy_linked !== false
  );
}

export interface Write {
  event: MembershipEvent;
  link: LegacyLink;
  result?: SyncResult;
}

/**
 * Membership changes of groups linked to a writable legacy group → the LMS, a batch at a time.
 * - The batch is cut into waves in which each learner appears once: a wave's calls may then run
 *   side by side without reordering anyone's changes, and waves run one after the other.
 * - Within a wave, each kind makes its calls as its API allows (kinds/); LmsChangesSender runs
 *   them, at most `LMS_CONCURRENCY` in flight, with adds recorded as pending writes first.
 * - Each wave's results (synced or rejected, naming the change they answer) and inbox rows are
 *   written in one transaction; an LMS outage throws before that, and the wave is retried.
 */
@Injectable()
export class LegacyWrites {
  private readonly logger = new Logger(LegacyWrites.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly kinds: LegacyKinds,
    private readonly sender: LmsChangesSender,
    private readonly outbox: OutboxWriter,
    private readonly pauses: LmsWritePauses,
    private readonly groups: GroupMembershipsClient,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.LegacySyncUserGroups);
  }

  /** `replayed`: the events come from the retry topic (an operator's replay of dead letters). */
  async apply(events: MembershipEvent[], replayed = false): Promise<void> {
    if (!events.length) return;
    if (replayed) events = await this.stillLatest(events);
    const ids = new Set(
      events.flatMap((e) => [e.data.membership.group_id, e.data.membership.moved_to_group_id ?? []].flat()),
    );
    const links = new Map(
      (await this.dataSource.getRepository(LegacyLink).find({ where: { groupId: In([...ids]) } })).map((l) => [
        l.groupId,
        l,
      ]),
    );
    for (const { writes, recordable } of cutWaves(events, links, (l) => this.kinds.writesFor(l)))
      await this.run(writes, recordable);
  }

  /**
   * A replayed change that groups-service has changed again since is recorded and not sent: the
   * newer change reached the LMS (or will), and the old one must not undo it.
   */
  private async stillLatest(events: MembershipEvent[]): Promise<MembershipEvent[]> {
    const { memberships } = await this.groups.of([...new Set(events.map((e) => e.data.membership.group_id))]);
    const changedAt = new Map(memberships.map((m) => [`${m.group_id}|${m.user_id}`, Date.parse(m.changed_at)]));
    const outdated = events.filter(
      (e) =>
        (changedAt.get(`${e.data.membership.group_id}|${e.data.membership.user_id}`) ?? -Infinity) >
        Date.parse(e.data.membership.occurred_at),
    );
    if (!outdated.length) return events;
    this.logger.log(
      `${outdated.length} replayed membership changes are older than the groups' current state: recorded, not sent`,
    );
    await this.inbox.processBatch(outdated, async () => undefined);
    return events.filter((e) => !outdated.includes(e));
  }

  private async run(wave: Write[], recordable: MembershipEvent[]): Promise<void> {
    if (!recordable.length) return;
    // An operator's pause holds the wave (and the partition behind it) until resumed, in order.
    for (const course of new Set(wave.map((w) => w.link.courseKey))) await this.pauses.assertWritable(course);
    for (const w of wave) {
      if (!w.link.legacyId)
        w.result = this.result(
          w,
          'rejected',
          `the group's ${w.link.legacyType} is not linked: ${w.link.lastError ?? 'unknown reason'}`,
        );
    }
    const sent = new Map(
      wave
        .filter((w) => !w.result)
        .map((w) => {
          const m = w.event.data.membership;
          return [
            w,
            {
              link: w.link,
              userId: m.user_id,
              username: m.username,
              action: m.action,
              sourceEventId: w.event.metadata.id,
              changeOccurredAt: m.occurred_at,
            } as OutgoingChange,
          ];
        }),
    );
    const failures = await this.sender.send([...sent.values()]);
    for (const [w, { outcome }] of sent) {
      if (!outcome) continue;
      w.result = this.result(w, outcome.status, outcome.error);
      // An add's answer tells groups-service whether an echo will come.
      if (w.event.data.membership.action === 'added' && outcome.status === 'synced')
        w.result.lms_echo_expected = outcome.echoExpected;
    }
    if (failures.length) throw failures[0]; // the LMS is down: retried, in order, without recording anything of this wave
    await this.inbox.processBatch(recordable, async (manager, fresh) => {
      // Only for changes not recorded meanwhile (by an instance that owned the partition before).
      const unrecorded = new Set(fresh);
      const results = wave.filter((w) => w.result && unrecorded.has(w.event)).map((w) => ({ sync_result: w.result! }));
      await this.outbox.appendMany(manager, EventType.LegacySyncCompleted, results);
      await recordCourseActivity(
        manager,
        wave.map((w) => w.link.courseKey),
      );
    });
    for (const w of wave) {
      if (w.result?.status === 'rejected') {
        const { action, user_id: userId, username } = w.event.data.membership;
        this.logger.warn(
          `LMS refused ${action} of user ${userId} in group ${w.link.groupId}: ${redactPersonalData(w.result.error ?? '', [username])}`,
        );
      }
    }
  }

  private result(w: Write, status: SyncResult['status'], error: string | null): SyncResult {
    const m = w.event.data.membership;
    return {
      group_id: m.group_id,
      user_id: m.user_id,
      status,
      error,
      legacy_type: this.kinds.of(w.link)!.legacyType,
      legacy_id: w.link.legacyId,
      occurred_at: toCeTime(new Date()),
      change_occurred_at: m.occurred_at,
    };
  }
}

/**
 * Cuts a batch, in order, into waves in which each learner (per course) appears at most once, so
 * a wave's LMS calls can run side by side and waves one after the other. Events with nothing to
 * write (not mirrored, from the LMS, the removal half of a move between the course's cohorts) are
 * only recorded, with the wave they fall in.
 */
export function cutWaves(
  events: MembershipEvent[],
  links: Map<string, LegacyLink>,
  writesFor: (link: LegacyLink) => LegacyKindWrites | undefined,
): Array<{ writes: Write[]; recordable: MembershipEvent[] }> {
  const waves: Array<{ writes: Write[]; recordable: MembershipEvent[] }> = [{ writes: [], recordable: [] }];
  const learners = new Set<string>();
  for (const event of events) {
    const m = event.data.membership;
    const link = links.get(m.group_id);
    const target = m.moved_to_group_id ? links.get(m.moved_to_group_id) : undefined;
    let wave = waves[waves.length - 1];
    if (
      !isForTheLms(m) ||
      !link ||
      !writesFor(link) ||
      (m.action === 'removed' &&
        target &&
        writesFor(target)?.addMovesWithinCourse &&
        target.courseKey === link.courseKey)
    ) {
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
