import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { createPool, Pool } from 'mysql2/promise';
import { LmsApiClient, LmsUnavailableError } from '@groups-sync/lms-client';
import { GroupsServiceConfig } from '../groups-service.config';

export interface LmsAccount { id: number; username: string; email: string | null }

/** Encoded usernames per GET: edx-platform takes a comma-separated list, and URLs should stay under 8 KB. */
const USERNAMES_URL_BUDGET = 6000;
const EMAILS_PER_CALL = 500;
/** Calls to the LMS at once for one resolution: enough to hide its latency, few enough not to swamp it. */
const CALLS_IN_FLIGHT = 8;
/** The by-id form is one call per id: more at once, each is a primary-key read. */
const ID_LOOKUPS_IN_FLIGHT = 16;
const ROWS_PER_QUERY = 1000;

/**
 * LMS user accounts by id, username or email. With LMS_DB_URL (the read-only database path), one
 * query per thousand from `auth_user`. Else the accounts API (edx-platform's AccountViewSet), as its
 * staff service user sees it: `GET /api/user/v1/accounts?username=a,b` lists the accounts found (404
 * when none is; 403 in older releases), `?lms_user_id=` finds one by id, and `POST
 * accounts/search_emails` resolves many emails; a bounded number of calls in flight.
 */
@Injectable()
export class LmsAccountsClient implements OnModuleDestroy {
  private readonly api: LmsApiClient;
  private readonly db?: Pool;

  constructor(config: GroupsServiceConfig) {
    this.api = new LmsApiClient(config);
    if (config.LMS_DB_URL) this.db = createPool({ uri: config.LMS_DB_URL, connectionLimit: 4, connectTimeout: config.LMS_TIMEOUT_MS });
  }

  async byUsernames(usernames: string[]): Promise<LmsAccount[]> {
    if (this.db) return this.query('username', usernames);
    const calls: string[][] = [];
    let batch: string[] = [];
    let length = 0;
    for (const name of usernames.map(encodeURIComponent)) {
      if (batch.length && length + name.length + 1 > USERNAMES_URL_BUDGET) {
        calls.push(batch);
        batch = [];
        length = 0;
      }
      batch.push(name);
      length += name.length + 1;
    }
    if (batch.length) calls.push(batch);
    const rows = await mapInFlight(calls, CALLS_IN_FLIGHT, (names) =>
      this.api.call<LmsAccount[]>('GET', `/api/user/v1/accounts?username=${names.join(',')}`, undefined, { emptyOn: [403, 404] }));
    return rows.flatMap((r) => (r ?? []).map(pick));
  }

  async byEmails(emails: string[]): Promise<LmsAccount[]> {
    if (this.db) return this.query('email', emails);
    const calls = chunks(emails, EMAILS_PER_CALL);
    const rows = await mapInFlight(calls, CALLS_IN_FLIGHT, (batch) => this.api.call<LmsAccount[]>('POST', '/api/user/v1/accounts/search_emails', { emails: batch }));
    return rows.flatMap((r) => (r ?? []).map(pick));
  }

  /** The API has no bulk form for ids: one call per id, a bounded number at once. */
  async byIds(ids: number[]): Promise<LmsAccount[]> {
    if (this.db) return this.query('id', ids);
    const rows = await mapInFlight(ids, ID_LOOKUPS_IN_FLIGHT, (id) =>
      this.api.call<LmsAccount[]>('GET', `/api/user/v1/accounts?lms_user_id=${id}`, undefined, { emptyOn: [403, 404] }));
    return rows.flatMap((r) => (r ?? []).map(pick));
  }

  private async query(column: 'id' | 'username' | 'email', values: Array<string | number>): Promise<LmsAccount[]> {
    const found: LmsAccount[] = [];
    for (const batch of chunks(values, ROWS_PER_QUERY)) {
      try {
        const [rows] = await this.db!.query(`SELECT id, username, email FROM auth_user WHERE ${column} IN (?)`, [batch]);
        found.push(...(rows as LmsAccount[]).map(pick));
      } catch (error) {
        throw new LmsUnavailableError(`the LMS database (LMS_DB_URL) could not be read: ${(error as Error).message}`, true);
      }
    }
    return found;
  }

  async onModuleDestroy(): Promise<void> {
    await this.db?.end();
  }
}

function chunks<T>(values: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/** `fn` over `items`, at most `limit` at a time; results in the items' order; the first failure rejects. */
export async function mapInFlight<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (error) {
        failed = true; // the others stop taking items: the caller gets this failure, not more calls
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function pick(a: LmsAccount): LmsAccount {
  return { id: Number(a.id), username: a.username, email: a.email ?? null };
}
