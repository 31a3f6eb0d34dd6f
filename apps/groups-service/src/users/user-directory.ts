import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LmsRejectedError, LmsUnavailableError } from '@groups-sync/lms-client';
import { DomainException } from '@groups-sync/observability';
import { GroupsServiceConfig } from '../groups-service.config';
import { retiredAmong } from '../retirement/retired-users';
import { LmsAccount, LmsAccountsClient } from './lms-accounts.client';

/** A user as a caller names them: by id, username or email, or several of them (which must agree). */
export interface UserLookup { user_id?: number; username?: string; email?: string }

export type UserResolution =
  | { status: 'found'; account: LmsAccount }
  | { status: 'unknown' }
  | { status: 'refused'; reason: string };

const CHUNK = 1000;

/**
 * Resolves user ids, usernames and emails to LMS accounts: from the `user_account` cache while it is
 * fresh (USER_DIRECTORY_TTL_SECONDS), otherwise from the LMS accounts API, in bulk. Usernames and
 * emails match case-insensitively, as they do in the LMS's database. An LMS that cannot answer is a
 * 503 for the caller: guessing would add the wrong people or report real ones as unknown.
 */
@Injectable()
export class UserDirectory {
  constructor(private readonly dataSource: DataSource, private readonly lms: LmsAccountsClient, private readonly config: GroupsServiceConfig) {}

  async resolve(lookups: UserLookup[]): Promise<UserResolution[]> {
    const known = new KnownAccounts();
    const ids = unique(lookups.flatMap((l) => (l.user_id === undefined ? [] : [l.user_id])));
    const names = unique(lookups.flatMap((l) => (l.username === undefined ? [] : [l.username.toLowerCase()])));
    const emails = unique(lookups.flatMap((l) => (l.email === undefined ? [] : [l.email.toLowerCase()])));

    const freshSince = new Date(Date.now() - this.config.USER_DIRECTORY_TTL_SECONDS * 1000);
    for (const [column, values] of [['id', ids], ['username', names], ['email', emails]] as const) {
      for (let i = 0; i < values.length; i += CHUNK) {
        const rows: Array<{ id: string; username: string; email: string | null }> = await this.dataSource.query(
          `SELECT id, username, email FROM user_account WHERE ${column} IN (?) AND fetched_at >= ? ORDER BY fetched_at`, [values.slice(i, i + CHUNK), freshSince]);
        for (const r of rows) known.add({ id: Number(r.id), username: r.username, email: r.email });
      }
    }

    // Bulk lookups first; the by-id lookup (one call per id) only for ids they did not turn up.
    const missingNames = names.filter((n) => !known.byName.has(n));
    const missingEmails = emails.filter((e) => !known.byEmail.has(e));
    const fetched = await this.fromLms(async () => [
      ...(missingNames.length ? await this.lms.byUsernames(missingNames) : []),
      ...(missingEmails.length ? await this.lms.byEmails(missingEmails) : []),
    ]);
    for (const a of fetched) known.add(a);
    const missingIds = ids.filter((id) => !known.byId.has(id));
    if (missingIds.length) {
      const byId = await this.fromLms(() => this.lms.byIds(missingIds));
      for (const a of byId) known.add(a);
      fetched.push(...byId);
    }
    // A retired account is not cached again (its old name and email would come back with it) and joins nothing.
    const retired = await retiredAmong(this.dataSource.manager, [...known.byId.keys()]);
    await this.remember(fetched.filter((a) => !retired.has(a.id)));
    return lookups.map((l) => {
      const resolution = known.match(l);
      return resolution.status === 'found' && retired.has(resolution.account.id) ? { status: 'refused', reason: 'this account was retired' } : resolution;
    });
  }

  private async fromLms(lookup: () => Promise<LmsAccount[]>): Promise<LmsAccount[]> {
    try {
      return await lookup();
    } catch (error) {
      if (error instanceof LmsUnavailableError || error instanceof LmsRejectedError) {
        throw new DomainException('USER_DIRECTORY_UNAVAILABLE', 'unavailable', 'the LMS accounts API could not resolve these users; try again shortly', { reason: error.message });
      }
      throw error;
    }
  }

  private async remember(accounts: LmsAccount[]): Promise<void> {
    const now = new Date();
    for (let i = 0; i < accounts.length; i += CHUNK) {
      const chunk = accounts.slice(i, i + CHUNK);
      await this.dataSource.query(
        `INSERT INTO user_account (id, username, email, fetched_at) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}
         ON DUPLICATE KEY UPDATE username = VALUES(username), email = COALESCE(VALUES(email), email), fetched_at = VALUES(fetched_at)`,
        chunk.flatMap((a) => [a.id, a.username, a.email, now]));
    }
  }
}

class KnownAccounts {
  readonly byId = new Map<number, LmsAccount>();
  readonly byName = new Map<string, LmsAccount>();
  readonly byEmail = new Map<string, LmsAccount>();

  add(a: LmsAccount): void {
    this.byId.set(a.id, a);
    this.byName.set(a.username.toLowerCase(), a);
    if (a.email) this.byEmail.set(a.email.toLowerCase(), a);
  }

  /** Every identifier given must name the same account. */
  match(l: UserLookup): UserResolution {
    const named: Array<[string, string | number, LmsAccount | undefined]> = [];
    if (l.user_id !== undefined) named.push(['user_id', l.user_id, this.byId.get(l.user_id)]);
    if (l.username !== undefined) named.push(['username', l.username, this.byName.get(l.username.toLowerCase())]);
    if (l.email !== undefined) named.push(['email', l.email, this.byEmail.get(l.email.toLowerCase())]);
    const found = named.filter(([, , a]) => a);
    if (!found.length) return { status: 'unknown' };
    const account = found[0][2]!;
    const disagreeing = named.find(([, , a]) => a?.id !== account.id);
    if (disagreeing) {
      return { status: 'refused', reason: `${found[0][0]} ${found[0][1]} and ${disagreeing[0]} ${disagreeing[1]} do not name the same account` };
    }
    return { status: 'found', account };
  }
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
