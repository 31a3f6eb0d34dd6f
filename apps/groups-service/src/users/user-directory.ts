import { retiredAmong } from '@groups-sync/persistence';
import { inSlices } from '../api/in-slices';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LmsRejectedError, LmsUnavailableError } from '@groups-sync/lms-client';
import { DomainException } from '@groups-sync/observability';
import { GroupsServiceConfig } from '../groups-service.config';
import { AccountsAnswer, LmsAccount, LmsAccountsClient } from './lms-accounts.client';

/** A user as a caller names them: by id, username or email, or several of them (which must agree). */
export interface UserLookup {
  user_id?: number;
  username?: string;
  email?: string;
}

export type UserResolution =
  { status: 'found'; account: LmsAccount } | { status: 'unknown' } | { status: 'refused'; reason: string };

const CHUNK = 1000;

const NOT_ANSWERED =
  'the LMS did not answer for this user in time (USER_DIRECTORY_DEADLINE_MS; it may be rate limiting): send it again';

/**
 * Resolves user ids, usernames and emails to LMS accounts: from the `user_account` cache while it is
 * fresh (USER_DIRECTORY_TTL_SECONDS), otherwise from the LMS accounts API, in bulk. Usernames and
 * emails match case-insensitively, as they do in the LMS's database. An LMS that cannot answer is a
 * 503 for the caller: guessing would add the wrong people or report real ones as unknown. One that
 * is slow (throttling) gets until the deadline: the users it has not answered for by then are
 * `refused` with a reason, the others resolved, so a bulk caller keeps its progress and sends the
 * rest again. An LMS that refuses us access (403) is a configuration error, never "unknown".
 */
@Injectable()
export class UserDirectory {
  private readonly logger = new Logger(UserDirectory.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly lms: LmsAccountsClient,
    private readonly config: GroupsServiceConfig,
  ) {}

  async resolve(
    lookups: UserLookup[],
    deadline = Date.now() + this.config.USER_DIRECTORY_DEADLINE_MS,
  ): Promise<UserResolution[]> {
    const known = new KnownAccounts();
    const [idSet, nameSet, emailSet] = [new Set<number>(), new Set<string>(), new Set<string>()];
    await inSlices(lookups, (l) => {
      if (l.user_id !== undefined) idSet.add(l.user_id);
      if (l.username !== undefined) nameSet.add(l.username.toLowerCase());
      if (l.email !== undefined) emailSet.add(l.email.toLowerCase());
    });
    const [ids, names, emails] = [[...idSet], [...nameSet], [...emailSet]];

    const freshSince = new Date(Date.now() - this.config.USER_DIRECTORY_TTL_SECONDS * 1000);
    for (const [column, values] of [
      ['id', ids],
      ['username', names],
      ['email', emails],
    ] as const) {
      for (let i = 0; i < values.length; i += CHUNK) {
        const rows: Array<{ id: string; username: string; email: string | null }> = await this.dataSource.query(
          `SELECT id, username, email FROM user_account WHERE ${column} IN (?) AND fetched_at >= ? ORDER BY fetched_at`,
          [values.slice(i, i + CHUNK), freshSince],
        );
        for (const r of rows) known.add({ id: Number(r.id), username: r.username, email: r.email });
      }
    }

    // Bulk lookups first; the by-id lookup (one call per id) only for ids they did not turn up.
    const missingNames = names.filter((n) => !known.byName.has(n));
    const missingEmails = emails.filter((e) => !known.byEmail.has(e));
    const fetched: LmsAccount[] = [];
    for (const [values, lookup] of [
      [missingNames, this.lms.byUsernames],
      [missingEmails, this.lms.byEmails],
    ] as const) {
      if (!values.length) continue;
      const found = await this.fromLms(() => lookup.call(this.lms, values, deadline));
      fetched.push(...found.accounts);
      for (const v of found.unanswered) known.unanswered.add(v);
    }
    await inSlices(fetched, (a) => known.add(a));
    const missingIds = ids.filter((id) => !known.byId.has(id));
    if (missingIds.length) {
      const byId = await this.fromLms(() => this.lms.byIds(missingIds, deadline));
      for (const a of byId.accounts) known.add(a);
      for (const id of byId.unanswered) known.unanswered.add(id);
      fetched.push(...byId.accounts);
    }
    // A retired account is not cached again (its old name and email would come back with it) and joins nothing.
    const retired = await retiredAmong(this.dataSource.manager, [...known.byId.keys()]);
    await this.remember(fetched.filter((a) => !retired.has(a.id)));
    const resolutions: UserResolution[] = [];
    await inSlices(lookups, (l) => {
      const resolution = known.match(l);
      resolutions.push(
        resolution.status === 'found' && retired.has(resolution.account.id)
          ? { status: 'refused', reason: 'this account was retired' }
          : resolution,
      );
    });
    return resolutions;
  }

  private async fromLms<T>(lookup: () => Promise<AccountsAnswer<T>>): Promise<AccountsAnswer<T>> {
    try {
      return await lookup();
    } catch (error) {
      if (error instanceof LmsRejectedError && (error.status === 401 || error.status === 403)) {
        this.logger.error(`the LMS accounts API refused our OAuth2 client: ${error.message}`);
        throw new DomainException(
          'LMS_ACCESS_DENIED',
          'unavailable',
          'the LMS refused groups-service access to its accounts API: check that the OAuth2 client LMS_OAUTH_CLIENT_ID exists and that its user is active and global staff',
          { reason: error.message },
        );
      }
      if (error instanceof LmsUnavailableError || error instanceof LmsRejectedError) {
        throw new DomainException(
          'USER_DIRECTORY_UNAVAILABLE',
          'unavailable',
          'the LMS accounts API could not resolve these users; try again shortly',
          { reason: error.message },
        );
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
        chunk.flatMap((a) => [a.id, a.username, a.email, now]),
      );
    }
  }
}

class KnownAccounts {
  readonly byId = new Map<number, LmsAccount>();
  readonly byName = new Map<string, LmsAccount>();
  readonly byEmail = new Map<string, LmsAccount>();
  /** Ids, lowercased usernames and emails the LMS did not answer for before the deadline. */
  readonly unanswered = new Set<string | number>();

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
    const unanswered = [l.user_id, l.username?.toLowerCase(), l.email?.toLowerCase()].some(
      (v) => v !== undefined && this.unanswered.has(v),
    );
    if (unanswered) return { status: 'refused', reason: NOT_ANSWERED };
    if (!found.length) return { status: 'unknown' };
    const account = found[0][2]!;
    const disagreeing = named.find(([, , a]) => a?.id !== account.id);
    if (disagreeing) {
      return {
        status: 'refused',
        reason: `${found[0][0]} ${found[0][1]} and ${disagreeing[0]} ${disagreeing[1]} do not name the same account`,
      };
    }
    return { status: 'found', account };
  }
}
