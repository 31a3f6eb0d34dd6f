import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { createPool, Pool } from 'mysql2/promise';
import { LmsApiClient, LmsDeadlineError, LmsUnavailableError } from '@groups-sync/lms-client';
import { GroupsServiceConfig } from '../groups-service.config';

export interface LmsAccount {
  id: number;
  username: string;
  email: string | null;
}

/** The accounts the LMS found among some lookups, and the lookups it did not answer before the deadline. */
export interface AccountsAnswer<T> {
  accounts: LmsAccount[];
  unanswered: T[];
}

/** Encoded usernames per GET: edx-platform takes a comma-separated list, and URLs should stay under 8 KB. */
const USERNAMES_URL_BUDGET = 6000;
const EMAILS_PER_CALL = 500;
/** Calls to the LMS at once for one resolution: enough to hide its latency, few enough not to swamp it. */
const CALLS_IN_FLIGHT = 8;
/** The by-id form is one call per id: more at once, each is a primary-key read. */
const ID_LOOKUPS_IN_FLIGHT = 16;
const ROWS_PER_QUERY = 1000;
/**
 * "Nobody found": a 404; a bare 403 from older releases, which answer a staff caller so (a 403 with a
 * DRF `detail` is a refusal, LmsRejectedError).
 */
const NOBODY = { emptyOn: [404], emptyWhenBodyless: [403] };

/**
 * LMS user accounts by id, username or email. With LMS_DB_URL (the read-only database path), one
 * query per thousand from `auth_user`. Else the accounts API (edx-platform's AccountViewSet), as its
 * staff service user sees it: `GET /api/user/v1/accounts?username=a,b` lists the accounts found (404
 * when none is; a bare 403 in older releases), `?lms_user_id=` finds one by id, and `POST
 * accounts/search_emails` resolves many emails; a bounded number of calls in flight, per resolution
 * and for the instance (LMS_ACCOUNTS_CALLS_IN_FLIGHT). Past the deadline, or once the LMS asks to
 * come back after it, no more calls start: what is left is `unanswered`.
 */
@Injectable()
export class LmsAccountsClient implements OnModuleDestroy {
  private readonly api: LmsApiClient;
  private readonly db?: Pool;
  private readonly slots: CallSlots;

  constructor(config: GroupsServiceConfig) {
    this.api = new LmsApiClient(config);
    this.slots = new CallSlots(config.LMS_ACCOUNTS_CALLS_IN_FLIGHT);
    if (config.LMS_DB_URL)
      this.db = createPool({ uri: config.LMS_DB_URL, connectionLimit: 4, connectTimeout: config.LMS_TIMEOUT_MS });
  }

  async byUsernames(usernames: string[], deadline?: number): Promise<AccountsAnswer<string>> {
    if (this.db) return { accounts: await this.query('username', usernames), unanswered: [] };
    const calls: string[][] = [];
    let batch: string[] = [];
    let length = 0;
    for (const name of usernames) {
      const encoded = encodeURIComponent(name);
      if (batch.length && length + encoded.length + 1 > USERNAMES_URL_BUDGET) {
        calls.push(batch);
        batch = [];
        length = 0;
      }
      batch.push(name);
      length += encoded.length + 1;
    }
    if (batch.length) calls.push(batch);
    const rows = await mapInFlight(calls, CALLS_IN_FLIGHT, (names) =>
      this.slots.run(deadline, () =>
        this.api.call<LmsAccount[]>(
          'GET',
          `/api/user/v1/accounts?username=${names.map(encodeURIComponent).join(',')}`,
          undefined,
          { ...NOBODY, deadline },
        ),
      ),
    );
    return answer(calls, rows, (names) => names);
  }

  async byEmails(emails: string[], deadline?: number): Promise<AccountsAnswer<string>> {
    if (this.db) return { accounts: await this.query('email', emails), unanswered: [] };
    const calls = chunks(emails, EMAILS_PER_CALL);
    const rows = await mapInFlight(calls, CALLS_IN_FLIGHT, (batch) =>
      this.slots.run(deadline, () =>
        this.api.call<LmsAccount[]>('POST', '/api/user/v1/accounts/search_emails', { emails: batch }, { deadline }),
      ),
    );
    return answer(calls, rows, (batch) => batch);
  }

  /** The API has no bulk form for ids: one call per id, a bounded number at once. */
  async byIds(ids: number[], deadline?: number): Promise<AccountsAnswer<number>> {
    if (this.db) return { accounts: await this.query('id', ids), unanswered: [] };
    const rows = await mapInFlight(ids, ID_LOOKUPS_IN_FLIGHT, (id) =>
      this.slots.run(deadline, () =>
        this.api.call<LmsAccount[]>('GET', `/api/user/v1/accounts?lms_user_id=${id}`, undefined, {
          ...NOBODY,
          deadline,
        }),
      ),
    );
    return answer(ids, rows, (id) => [id]);
  }

  private async query(column: 'id' | 'username' | 'email', values: Array<string | number>): Promise<LmsAccount[]> {
    const found: LmsAccount[] = [];
    for (const batch of chunks(values, ROWS_PER_QUERY)) {
      try {
        const [rows] = await this.db!.query(`SELECT id, username, email FROM auth_user WHERE ${column} IN (?)`, [
          batch,
        ]);
        found.push(...(rows as LmsAccount[]).map(pick));
      } catch (error) {
        throw new LmsUnavailableError(
          `the LMS database (LMS_DB_URL) could not be read: ${(error as Error).message}`,
          true,
        );
      }
    }
    return found;
  }

  async onModuleDestroy(): Promise<void> {
    await this.db?.end();
  }
}

function answer<C, T>(
  calls: C[],
  rows: Array<LmsAccount[] | null | typeof UNANSWERED>,
  lookupsOf: (call: C) => T[],
): AccountsAnswer<T> {
  const accounts: LmsAccount[] = [];
  const unanswered: T[] = [];
  rows.forEach((r, i) =>
    r === UNANSWERED ? unanswered.push(...lookupsOf(calls[i])) : accounts.push(...(r ?? []).map(pick)),
  );
  return { accounts, unanswered };
}

function chunks<T>(values: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

export const UNANSWERED = Symbol('unanswered');

/**
 * `fn` over `items`, at most `limit` at a time; results in the items' order; the first failure
 * rejects. An LmsDeadlineError stops the others taking items (the deadline passed, or the LMS asked
 * to wait past it: more calls would only be throttled): that item and the ones not started are UNANSWERED.
 */
export async function mapInFlight<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<Array<R | typeof UNANSWERED>> {
  const results: Array<R | typeof UNANSWERED> = new Array(items.length).fill(UNANSWERED);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (error) {
        stopped = true; // the others stop taking items: the caller gets this failure, not more calls
        if (!(error instanceof LmsDeadlineError)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A bound on calls in flight shared by every request; a caller waits for a slot until its deadline. */
export class CallSlots {
  private free: number;
  private readonly waiting = new Set<() => void>();

  constructor(size: number) {
    this.free = size;
  }

  async run<R>(deadline: number | undefined, fn: () => Promise<R>): Promise<R> {
    if (this.free > 0) this.free--;
    else await this.slot(deadline);
    try {
      return await fn();
    } finally {
      const [next] = this.waiting; // handed over, or given back
      if (next) {
        this.waiting.delete(next);
        next();
      } else {
        this.free++;
      }
    }
  }

  private slot(deadline: number | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const take = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.add(take);
      if (deadline !== undefined) {
        timer = setTimeout(
          () => {
            this.waiting.delete(take);
            reject(new LmsDeadlineError("the request's deadline passed while waiting for a call to the LMS"));
          },
          Math.max(0, deadline - Date.now()),
        );
      }
    });
  }
}

function pick(a: LmsAccount): LmsAccount {
  return { id: Number(a.id), username: a.username, email: a.email ?? null };
}
