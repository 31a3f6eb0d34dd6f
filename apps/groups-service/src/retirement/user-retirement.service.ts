import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  inTransaction,
  maxKey,
  Replacement,
  retiredIdentifiers,
  scrubRows,
  ScrubTarget,
  recordUserRetired,
} from '@groups-sync/persistence';
import { ChangeContext } from '../audit/change-context';
import { EvaluationChunkRepository } from '../evaluations/evaluation-chunk.repository';
import { EvaluationRuns } from '../evaluations/evaluation-runs.service';
import { MembershipWriter } from '../memberships/membership-writer';
import { MembershipRepository } from '../memberships/membership.repository';

const audit = (where?: ScrubTarget['where']): ScrubTarget => ({
  table: 'audit_event',
  key: 'id',
  where,
  columns: [
    { name: 'actor', kind: 'identity' },
    { name: 'details', kind: 'json' },
  ],
});
const OUTBOX: ScrubTarget = { table: 'outbox', key: 'id', columns: [{ name: 'payload', kind: 'json' }] };

/**
 * Retires a user as Open edX's retirement pipeline asks each service that holds their data: they
 * leave every group, and their username and email are replaced everywhere groups-service keeps
 * them (memberships, audit rows, the outbox, pending evaluation chunks, the user directory cache);
 * ids stay, as Open edX keeps them. The removals are published with origin `retirement`:
 * legacy-sync sends them to no LMS (the pipeline retires the LMS's side itself). The user joins no
 * group again (`retired_user`). Idempotent: a second call finds nothing left to change.
 */
@Injectable()
export class UserRetirementService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly writer: MembershipWriter,
    private readonly memberships: MembershipRepository,
    private readonly runs: EvaluationRuns,
    private readonly chunks: EvaluationChunkRepository,
  ) {}

  async retire(userId: number, originalUsername: string | null, ctx: ChangeContext): Promise<void> {
    const retired = retiredIdentifiers(userId);
    // An evaluation run open in this instance may hold the user's new membership uncommitted: it
    // applies from its staged chunks instead, which are scrubbed below.
    await this.runs.closeOpenRun(`user ${userId} is being retired`);
    // Retired first, on its own: no add that starts from now on lets the user in. Then a locking read
    // of their memberships waits for the writers that added them before (a run, an API call) to
    // commit, so that what follows sees every group they are in. Retrying after a failure finishes it.
    await recordUserRetired(this.dataSource.manager, userId);
    await inTransaction(this.dataSource, (manager) => this.memberships.waitForWritersOf(manager, userId));
    const replacements = await this.identifiersOf(userId, originalUsername);
    const names = replacements.filter((r) => r.to === retired.username).map((r) => r.from);
    const byUser = (): ScrubTarget['where'] => ({
      sql: names.length ? 'user_id = ? OR actor IN (?)' : 'user_id = ?',
      params: names.length ? [userId, names] : [userId],
    });
    // History is scanned outside the transaction, so no group stays locked meanwhile; the rows
    // written since are scrubbed inside it.
    const upTo = {
      audit: await maxKey(this.dataSource, 'audit_event'),
      outbox: await maxKey(this.dataSource, 'outbox'),
    };
    await scrubRows(this.dataSource, audit(byUser()), replacements, { upTo: upTo.audit });
    await scrubRows(this.dataSource, OUTBOX, replacements, { upTo: upTo.outbox });

    await inTransaction(this.dataSource, async (manager) => {
      // The writers' lock order: every group the user is or was in, or made as staff (with exclusive
      // siblings, in id order), then membership rows.
      const made: Array<{ id: string }> = names.length
        ? await manager.query('SELECT id FROM user_group WHERE created_by IN (?) OR updated_by IN (?)', [names, names])
        : [];
      const locked = await this.writer.lockGroupsById(manager, [
        ...(await this.memberships.groupIdsOf(manager, userId)),
        ...made.map((g) => g.id),
      ]);
      // Renamed first, so the removals' audit rows and events carry the retired name.
      await this.memberships.retireUser(manager, userId, retired.username, replacements);
      for (const groupId of await this.memberships.groupIdsOf(manager, userId, true)) {
        const group = locked.get(groupId);
        if (group) await this.writer.deactivateMany(manager, group, [userId], ctx, null);
        // A deleted group publishes nothing more; its row just ends.
        else await this.memberships.endRow(manager, groupId, userId, ctx);
      }
      if (names.length) {
        await scrubRows(
          manager,
          {
            table: 'user_group',
            key: 'id',
            where: { sql: 'created_by IN (?) OR updated_by IN (?)', params: [names, names] },
            columns: [
              { name: 'created_by', kind: 'identity' },
              { name: 'updated_by', kind: 'identity' },
            ],
          },
          replacements,
        );
      }
      await scrubRows(manager, audit(byUser()), replacements, { above: upTo.audit });
      await scrubRows(manager, OUTBOX, replacements, { above: upTo.outbox });
      await this.chunks.retire(manager, replacements);
      await manager.query('UPDATE user_account SET username = ?, email = ? WHERE id = ?', [
        retired.username,
        retired.email,
        userId,
      ]);
    });
  }

  /** The user's usernames and emails as our rows know them (and as the caller gave it), each with its retired form; none once retired. */
  private async identifiersOf(userId: number, originalUsername: string | null): Promise<Replacement[]> {
    const retired = retiredIdentifiers(userId);
    const names = new Map<string, string>();
    const emails = new Map<string, string>();
    const add = (into: Map<string, string>, value: string | null | undefined) => {
      if (value && value.toLowerCase() !== retired.username && value.toLowerCase() !== retired.email)
        into.set(value.toLowerCase(), value);
    };
    add(names, originalUsername);
    for (const username of await this.memberships.usernamesOf(userId)) add(names, username);
    const [account]: Array<{ username: string; email: string | null }> = await this.dataSource.query(
      'SELECT username, email FROM user_account WHERE id = ?',
      [userId],
    );
    add(names, account?.username);
    add(emails, account?.email);
    return [
      ...[...emails.values()].map((from) => ({ from, to: retired.email })),
      ...[...names.values()].map((from) => ({ from, to: retired.username })),
    ];
  }
}
