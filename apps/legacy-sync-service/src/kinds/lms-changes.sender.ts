import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { LmsChange } from './legacy-kind.port';
import { LegacyKinds } from './legacy-kinds.registry';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { runLimited } from '../lms/run-limited';

/** A change to send, and what it answers (for the pending write that recognises its echo). */
export interface OutgoingChange extends LmsChange {
  sourceEventId: string;
  changeOccurredAt: string | null;
}

/**
 * Sends changes to the LMS through their kinds' calls, at most `LMS_CONCURRENCY` at once, for the
 * sync and for reconciliation's repairs alike. Adds are recorded as pending writes (committed
 * before the calls, so an echo that comes before the answer is known); those with no echo to come
 * are deleted after, as a pending write with no echo would swallow a genuine LMS change.
 */
@Injectable()
export class LmsChangesSender {
  constructor(
    private readonly dataSource: DataSource,
    private readonly kinds: LegacyKinds,
    private readonly config: LegacySyncServiceConfig,
  ) {}

  /** Answers the errors of the calls that failed (the LMS is down); their changes have no outcome. */
  async send(changes: OutgoingChange[]): Promise<unknown[]> {
    const adds = changes.filter((c) => c.action === 'added');
    const pendingIds = new Map<OutgoingChange, string>();
    if (adds.length) {
      const inserted = await this.dataSource.getRepository(PendingLmsWrite).insert(
        adds.map((c) => ({
          groupId: c.link.groupId,
          courseKey: c.link.courseKey,
          legacyId: c.link.legacyId!,
          userId: c.userId,
          action: 'added' as const,
          sourceEventId: c.sourceEventId,
          changeOccurredAt: c.changeOccurredAt,
          confirmedAt: null,
        })),
      );
      adds.forEach((c, i) => pendingIds.set(c, String(inserted.identifiers[i].id)));
    }
    const calls: Array<() => Promise<void>> = [];
    for (const writes of new Set(changes.map((c) => this.kinds.writesFor(c.link)))) {
      if (!writes) continue;
      const own = changes.filter((c) => this.kinds.writesFor(c.link) === writes);
      calls.push(
        ...writes.calls(
          own.filter((c) => c.action === 'added'),
          own.filter((c) => c.action === 'removed'),
        ),
      );
    }
    const failures = await runLimited(calls, this.config.LMS_CONCURRENCY);
    const unconfirmable = adds.filter((c) => !c.outcome?.echoExpected).map((c) => pendingIds.get(c)!);
    if (unconfirmable.length) await this.dataSource.getRepository(PendingLmsWrite).delete({ id: In(unconfirmable) });
    return failures;
  }
}
