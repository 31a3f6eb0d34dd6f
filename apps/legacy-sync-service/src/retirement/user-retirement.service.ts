import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { inTransaction, Replacement, retiredIdentifiers, scrubRows, recordUserRetired } from '@groups-sync/persistence';

/**
 * legacy-sync's part of retiring a user (Open edX's retirement pipeline calls it as a step of its
 * own, beside groups-service's): their username is replaced in reconciliation reports, in the
 * observations of the outbox, and where they acted as an operator. Pending LMS writes hold ids only
 * (ids stay, as Open edX keeps them). The id is kept as retired: their dead letters are then shown
 * masked and never replayed. Idempotent.
 */
@Injectable()
export class UserRetirementService {
  constructor(private readonly dataSource: DataSource) {}

  async retire(userId: number, originalUsername: string | null): Promise<void> {
    const retired = retiredIdentifiers(userId);
    await inTransaction(this.dataSource, async (manager) => {
      // Dead letters are Kafka's to keep (DEAD_LETTER_RETENTION_DAYS): the id marks them as a retired learner's.
      await recordUserRetired(manager, userId);
      const known: Array<{ username: string }> = await manager.query(
        'SELECT DISTINCT username FROM reconciliation_difference WHERE user_id = ? AND username IS NOT NULL',
        [userId],
      );
      const names = new Map<string, string>();
      for (const name of [originalUsername, ...known.map((r) => r.username)]) {
        if (name && name.toLowerCase() !== retired.username) names.set(name.toLowerCase(), name);
      }
      const replacements: Replacement[] = [...names.values()].map((from) => ({ from, to: retired.username }));
      if (!replacements.length) return;
      const list = [...names.values()];
      await scrubRows(
        manager,
        {
          table: 'reconciliation_difference',
          key: 'id',
          where: { sql: 'user_id = ? OR username IN (?)', params: [userId, list] },
          columns: [
            { name: 'username', kind: 'identity' },
            { name: 'reason', kind: 'text' },
            { name: 'outcome', kind: 'text' },
          ],
        },
        replacements,
      );
      await scrubRows(
        manager,
        { table: 'outbox', key: 'id', columns: [{ name: 'payload', kind: 'json' }] },
        replacements,
      );
      // Operators are named by username.
      for (const [table, key, column] of [
        ['reconciliation_run', 'id', 'requested_by'],
        ['dead_letter_action', 'id', 'actor'],
        ['lms_write_pause', 'course_key', 'paused_by'],
      ]) {
        await scrubRows(
          manager,
          {
            table,
            key,
            where: { sql: `${column} IN (?)`, params: [list] },
            columns: [{ name: column, kind: 'identity' }],
          },
          replacements,
        );
      }
    });
  }
}
