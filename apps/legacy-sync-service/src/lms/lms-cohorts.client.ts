import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { metric } from '@groups-sync/messaging';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LmsRejectedError, LmsUnavailableError } from './lms-api.error';

export interface LmsCohort { id: number; name: string; user_count: number; assignment_type: string }
export interface AddUsersResponse {
  added: Array<{ username: string }>; changed: Array<{ username: string; previous_cohort: string }>;
  present: string[]; unknown: string[]; preassigned: string[]; invalid: string[];
}

const apiErrors = metric('lms_api_errors_total', () => new Counter({ name: 'lms_api_errors_total', help: 'LMS API calls that failed', labelNames: ['kind'] }));

/** The LMS cohorts API v1, authenticated as an OAuth2 client (client_credentials, JWT tokens). */
@Injectable()
export class LmsCohortsClient {
  private token?: { value: string; expiresAt: number };

  constructor(private readonly config: LegacySyncServiceConfig) {}

  /** Every cohort of a course; the v1 list returns a bare array one page at a time. */
  async listCohorts(courseKey: string): Promise<LmsCohort[]> {
    const all: LmsCohort[] = [];
    for (let page = 1; ; page++) {
      const batch = await this.call<LmsCohort[]>('GET', `${this.cohortsPath(courseKey)}?page=${page}&page_size=100`, undefined, page > 1 ? [404] : []);
      if (!batch || !batch.length) break;
      all.push(...batch);
      if (batch.length < 100) break;
    }
    return all;
  }

  getCohort(courseKey: string, id: number): Promise<LmsCohort> {
    return this.call('GET', `${this.cohortsPath(courseKey)}${id}`) as Promise<LmsCohort>;
  }

  createCohort(courseKey: string, name: string): Promise<LmsCohort> {
    return this.call('POST', this.cohortsPath(courseKey), { name, assignment_type: 'manual' }) as Promise<LmsCohort>;
  }

  /** PATCH answers 204; a name another cohort of the course has is refused (cohort-name-exists). */
  renameCohort(courseKey: string, id: number, name: string): Promise<unknown> {
    return this.call('PATCH', `${this.cohortsPath(courseKey)}${id}`, { name });
  }

  addUsers(courseKey: string, id: number, usernames: string[]): Promise<AddUsersResponse> {
    return this.call('POST', `${this.cohortsPath(courseKey)}${id}/users/`, { users: usernames }) as Promise<AddUsersResponse>;
  }

  removeUser(courseKey: string, id: number, username: string): Promise<unknown> {
    return this.call('DELETE', `${this.cohortsPath(courseKey)}${id}/users/${encodeURIComponent(username)}`);
  }

  private cohortsPath(courseKey: string): string {
    // edx-platform matches the course key unencoded in the path (COURSE_KEY_PATTERN).
    return `/api/cohorts/v1/courses/${courseKey}/cohorts/`;
  }

  private async call<T>(method: string, path: string, body?: unknown, emptyOn: number[] = []): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.fetch(method, path, body, await this.accessToken());
      if (res.status === 401 && attempt === 1) {
        this.token = undefined; // expired or revoked: get a new one once
        continue;
      }
      if (emptyOn.includes(res.status)) return null;
      const text = await res.text();
      if (res.status >= 500 || res.status === 429) {
        apiErrors.inc({ kind: 'unavailable' });
        throw new LmsUnavailableError(`LMS ${method} ${path}: ${res.status}`);
      }
      if (res.status >= 400) {
        apiErrors.inc({ kind: 'rejected' });
        let code: string | undefined;
        let message = text.slice(0, 500);
        try {
          const parsed = JSON.parse(text) as { error_code?: string; developer_message?: string; detail?: string };
          code = parsed.error_code;
          message = parsed.developer_message ?? parsed.detail ?? message;
        } catch { /* not JSON */ }
        throw new LmsRejectedError(res.status, code, `LMS ${method} ${path}: ${res.status} ${message}`);
      }
      return (text ? JSON.parse(text) : null) as T;
    }
  }

  private async fetch(method: string, path: string, body: unknown, token: string | null): Promise<Response> {
    try {
      return await fetch(`${this.config.LMS_BASE_URL}${path}`, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `JWT ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.LMS_TIMEOUT_MS),
      });
    } catch (error) {
      apiErrors.inc({ kind: 'unreachable' });
      throw new LmsUnavailableError(`LMS ${method} ${path}: ${(error as Error).message}`);
    }
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 30_000) return this.token.value;
    const form = new URLSearchParams({
      grant_type: 'client_credentials', client_id: this.config.LMS_OAUTH_CLIENT_ID, client_secret: this.config.LMS_OAUTH_CLIENT_SECRET, token_type: 'jwt',
    });
    let tokenRes: Response;
    try {
      tokenRes = await fetch(`${this.config.LMS_BASE_URL}/oauth2/access_token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, signal: AbortSignal.timeout(this.config.LMS_TIMEOUT_MS),
      });
    } catch (error) {
      throw new LmsUnavailableError(`LMS token: ${(error as Error).message}`);
    }
    if (tokenRes.status >= 500) throw new LmsUnavailableError(`LMS token: ${tokenRes.status}`);
    if (!tokenRes.ok) throw new LmsUnavailableError(`LMS token refused (${tokenRes.status}): check LMS_OAUTH_CLIENT_ID/SECRET`);
    const json = (await tokenRes.json()) as { access_token: string; expires_in: number };
    this.token = { value: json.access_token, expiresAt: Date.now() + json.expires_in * 1000 };
    return this.token.value;
  }
}
