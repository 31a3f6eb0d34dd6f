import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  EventType,
  LegacyMembershipObservedData,
  LegacySyncCompletedData,
  LegacyType,
  toCeTime,
} from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacyLink } from '../links/legacy-link.entity';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';
import { LmsChangesSender, OutgoingChange } from '../kinds/lms-changes.sender';
import { LmsWritePauses } from '../lms-writes/lms-write-pauses';
import { Difference } from './drift';

/**
 * Repairs a reconciliation step's differences: on the group's side by `legacy_membership.observed.v1`
 * events dated by when the LMS was read (groups-service applies them with its ordering rules: a
 * change made after the read wins); in the LMS by the same calls the sync makes, through the link's
 * kind (recorded as pending writes, so their echoes are known), answered to groups-service with
 * `legacy_sync.completed.v1`. Paused courses get no LMS call.
 */
@Injectable()
export class DriftRepairs {
  constructor(
    private readonly dataSource: DataSource,
    private readonly kinds: LegacyKinds,
    private readonly sender: LmsChangesSender,
    /** The accounts API, for the user ids the REST path does not list. */
    private readonly accounts: LmsCohortsClient,
    private readonly pauses: LmsWritePauses,
    private readonly outbox: OutboxWriter,
  ) {}

  /** Carries out the repairs; answers the outcome of each difference that did not end `repaired`. */
  async repair(
    run: { id: string; trigger_kind: string },
    differences: Difference[],
    readAt: Date,
    links: Map<string, LegacyLink>,
  ): Promise<Map<Difference, string>> {
    const outcomes = new Map<Difference, string>();
    // Group side: the REST path lists no user ids; ask the accounts API for the learners to add.
    const toGroup = differences.filter((d) => d.action === 'add_to_group' || d.action === 'remove_from_group');
    const unnamed = toGroup.filter((d) => d.userId === null).map((d) => d.username);
    if (unnamed.length) {
      const ids = await this.accounts.userIds([...new Set(unnamed)]);
      for (const d of toGroup) if (d.userId === null) d.userId = ids.get(d.username.toLowerCase()) ?? null;
    }
    const observations: LegacyMembershipObservedData[] = [];
    for (const d of toGroup) {
      if (d.userId === null) {
        outcomes.set(d, 'failed: the LMS has no account with this username');
        continue;
      }
      observations.push({
        observation: {
          group_id: d.groupId,
          course_key: d.courseKey,
          user_id: d.userId,
          username: d.username,
          action: d.action === 'add_to_group' ? 'added' : 'removed',
          observed_at: readAt.toISOString(),
          source_event_id: `reconciliation:${run.id}`,
          echo_of_change_at: null,
          // Importing a linked cohort's members is the LMS's own doing (origin `legacy`), not a repair.
          reconciliation_run_id: run.trigger_kind === 'link' ? null : run.id,
        },
      });
    }

    // LMS side: the same calls the sync makes, unless writes to the LMS are paused for the course.
    const results: Array<LegacySyncCompletedData> = [];
    const sent = new Map<Difference, OutgoingChange>();
    for (const d of differences.filter((x) => x.action === 'add_in_lms' || x.action === 'remove_in_lms')) {
      if (await this.pauses.isPaused(d.courseKey)) {
        outcomes.set(d, 'deferred: writes to the LMS are paused');
        continue;
      }
      sent.set(d, {
        link: links.get(d.groupId)!,
        userId: d.userId!,
        username: d.username,
        action: d.action === 'add_in_lms' ? 'added' : 'removed',
        sourceEventId: `reconciliation:${run.id}`,
        changeOccurredAt: d.changedAt,
      });
    }
    const failed = await this.sender.send([...sent.values()]);
    for (const [d, { link, outcome }] of sent) {
      if (outcome)
        results.push(
          syncResult(d, link, this.kinds.of(link)!.legacyType, outcome.status, outcome.error, outcome.echoExpected),
        );
      // A failed call leaves its difference for the next run.
      else
        outcomes.set(
          d,
          `failed: ${(failed[0] as Error | undefined)?.message ?? 'the LMS side is read-only'}`.slice(0, 255),
        );
      if (outcome?.status === 'rejected') outcomes.set(d, `rejected by the LMS: ${outcome.error}`.slice(0, 255));
    }
    for (const d of differences.filter((x) => x.action === 'confirm_in_group')) {
      const link = links.get(d.groupId)!;
      results.push(syncResult(d, link, this.kinds.of(link)!.legacyType, 'synced', null, true));
    }
    if (observations.length || results.length) {
      await this.dataSource.transaction(async (manager) => {
        const context = { correlationId: run.id };
        await this.outbox.appendMany(manager, EventType.LegacyMembershipObserved, observations, context);
        await this.outbox.appendMany(manager, EventType.LegacySyncCompleted, results, context);
      });
    }
    return outcomes;
  }
}

function syncResult(
  d: Difference,
  link: LegacyLink,
  legacyType: LegacyType,
  status: 'synced' | 'rejected',
  error: string | null,
  echoExpected: boolean,
): LegacySyncCompletedData {
  return {
    sync_result: {
      group_id: d.groupId,
      user_id: d.userId,
      status,
      error,
      legacy_type: legacyType,
      legacy_id: link.legacyId,
      occurred_at: toCeTime(new Date()),
      change_occurred_at: d.changedAt,
      lms_echo_expected: echoExpected,
    },
  };
}
