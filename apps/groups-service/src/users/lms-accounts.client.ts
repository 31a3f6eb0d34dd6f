import { Injectable } from '@nestjs/common';
import { LmsApiClient } from '@groups-sync/lms-client';
import { GroupsServiceConfig } from '../groups-service.config';

export interface LmsAccount { id: number; username: string; email: string | null }

/** Usernames per GET: edx-platform takes a comma-separated list, and URLs should stay under 8 KB. */
const USERNAMES_PER_CALL = 40;
const EMAILS_PER_CALL = 500;
const ID_LOOKUPS_IN_FLIGHT = 8;

/**
 * The LMS user accounts API (edx-platform's AccountViewSet), as its staff service user sees it:
 * `GET /api/user/v1/accounts?username=a,b` lists the accounts found (404 when none is; 403 in older releases),
 * `?lms_user_id=` finds one by id, and `POST accounts/search_emails` resolves many emails.
 */
@Injectable()
export class LmsAccountsClient {
  private readonly api: LmsApiClient;

  constructor(config: GroupsServiceConfig) {
    this.api = new LmsApiClient(config);
  }

  async byUsernames(usernames: string[]): Promise<LmsAccount[]> {
    const found: LmsAccount[] = [];
    for (let i = 0; i < usernames.length; i += USERNAMES_PER_CALL) {
      const names = usernames.slice(i, i + USERNAMES_PER_CALL).map(encodeURIComponent).join(',');
      const rows = await this.api.call<LmsAccount[]>('GET', `/api/user/v1/accounts?username=${names}`, undefined, { emptyOn: [403, 404] });
      found.push(...(rows ?? []).map(pick));
    }
    return found;
  }

  async byEmails(emails: string[]): Promise<LmsAccount[]> {
    const found: LmsAccount[] = [];
    for (let i = 0; i < emails.length; i += EMAILS_PER_CALL) {
      const rows = await this.api.call<LmsAccount[]>('POST', '/api/user/v1/accounts/search_emails', { emails: emails.slice(i, i + EMAILS_PER_CALL) });
      found.push(...(rows ?? []).map(pick));
    }
    return found;
  }

  /** One call per id (the API has no bulk form), a few at a time. */
  async byIds(ids: number[]): Promise<LmsAccount[]> {
    const found: LmsAccount[] = [];
    for (let i = 0; i < ids.length; i += ID_LOOKUPS_IN_FLIGHT) {
      const rows = await Promise.all(ids.slice(i, i + ID_LOOKUPS_IN_FLIGHT).map((id) =>
        this.api.call<LmsAccount[]>('GET', `/api/user/v1/accounts?lms_user_id=${id}`, undefined, { emptyOn: [403, 404] })));
      for (const r of rows) found.push(...(r ?? []).map(pick));
    }
    return found;
  }
}

function pick(a: LmsAccount): LmsAccount {
  return { id: Number(a.id), username: a.username, email: a.email ?? null };
}
