import { Injectable } from '@nestjs/common';
import { LmsApiClient } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';

export interface LmsCohort {
  id: number;
  name: string;
  user_count: number;
  assignment_type: string;
}
export interface AddUsersResponse {
  added: Array<{ username: string }>;
  changed: Array<{ username: string; previous_cohort: string }>;
  present: string[];
  unknown: string[];
  preassigned: string[];
  invalid: string[];
}

/** The LMS cohorts API v1. */
@Injectable()
export class LmsCohortsClient {
  private readonly api: LmsApiClient;

  constructor(config: LegacySyncServiceConfig) {
    this.api = new LmsApiClient(config);
  }

  /** Every cohort of a course; the v1 list returns a bare array one page at a time. */
  async listCohorts(courseKey: string): Promise<LmsCohort[]> {
    const all: LmsCohort[] = [];
    for (let page = 1; ; page++) {
      const batch = await this.api.call<LmsCohort[]>(
        'GET',
        `${this.cohortsPath(courseKey)}?page=${page}&page_size=100`,
        undefined,
        { emptyOn: page > 1 ? [404] : [] },
      );
      if (!batch || !batch.length) break;
      all.push(...batch);
      if (batch.length < 100) break;
    }
    return all;
  }

  getCohort(courseKey: string, id: number): Promise<LmsCohort> {
    return this.api.call('GET', `${this.cohortsPath(courseKey)}${id}`) as Promise<LmsCohort>;
  }

  createCohort(courseKey: string, name: string): Promise<LmsCohort> {
    return this.api.call('POST', this.cohortsPath(courseKey), {
      name,
      assignment_type: 'manual',
    }) as Promise<LmsCohort>;
  }

  /** PATCH answers 204; a name another cohort of the course has is refused (cohort-name-exists). */
  renameCohort(courseKey: string, id: number, name: string): Promise<unknown> {
    return this.api.call('PATCH', `${this.cohortsPath(courseKey)}${id}`, { name });
  }

  addUsers(courseKey: string, id: number, usernames: string[]): Promise<AddUsersResponse> {
    return this.api.call('POST', `${this.cohortsPath(courseKey)}${id}/users/`, {
      users: usernames,
    }) as Promise<AddUsersResponse>;
  }

  removeUser(courseKey: string, id: number, username: string): Promise<unknown> {
    return this.api.call('DELETE', `${this.cohortsPath(courseKey)}${id}/users/${encodeURIComponent(username)}`);
  }

  /** Every learner of a cohort, a page of 100 at a time (`{count, next, results: [{username, email, name}]}`). */
  async *cohortUsers(courseKey: string, id: number): AsyncGenerator<{ username: string; email: string }> {
    for (let page = 1; ; page++) {
      const res = await this.api.call<{ next: string | null; results: Array<{ username: string; email: string }> }>(
        'GET',
        `${this.cohortsPath(courseKey)}${id}/users/?page=${page}&page_size=100`,
        undefined,
        { emptyOn: page > 1 ? [404] : [] },
      );
      if (!res) return;
      yield* res.results;
      if (!res.next) return;
    }
  }

  /** `GET /api/cohorts/v1/settings/{course}`: whether the course is cohorted (404 for a course the LMS does not know). */
  async cohortSettings(courseKey: string): Promise<{ id: number; is_cohorted: boolean }> {
    return (await this.api.call('GET', `/api/cohorts/v1/settings/${courseKey}`)) as {
      id: number;
      is_cohorted: boolean;
    };
  }

  /** User ids of these usernames (the accounts API, as staff sees it); unknown ones are left out. */
  async userIds(usernames: string[]): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    for (let i = 0; i < usernames.length; i += 50) {
      const names = usernames
        .slice(i, i + 50)
        .map(encodeURIComponent)
        .join(',');
      const rows = await this.api.call<Array<{ id: number; username: string }>>(
        'GET',
        `/api/user/v1/accounts?username=${names}`,
        undefined,
        { emptyOn: [403, 404] },
      );
      for (const r of rows ?? []) ids.set(r.username.toLowerCase(), r.id);
    }
    return ids;
  }

  private cohortsPath(courseKey: string): string {
    // edx-platform matches the course key unencoded in the path (COURSE_KEY_PATTERN).
    return `/api/cohorts/v1/courses/${courseKey}/cohorts/`;
  }
}
