import { Injectable } from '@nestjs/common';
import { LmsApiClient } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';

export interface LmsEnrollment {
  user: string;
  course_id: string;
  mode: string;
  is_active: boolean;
  created: string;
}

/** The LMS enrollment API v1 (edx-platform openedx/core/djangoapps/enrollments/views.py). */
@Injectable()
export class LmsEnrollmentsClient {
  private readonly api: LmsApiClient;

  constructor(config: LegacySyncServiceConfig) {
    this.api = new LmsApiClient(config);
  }

  /** `GET /api/enrollment/v1/course/{course_id}?include_expired=1`: the course's modes (400 "No course found" for a course the LMS does not know). */
  async courseModes(courseKey: string): Promise<string[]> {
    const res = await this.api.call<{ course_modes: Array<{ slug: string }> }>(
      'GET',
      `/api/enrollment/v1/course/${courseKey}?include_expired=1`,
    );
    return (res?.course_modes ?? []).map((m) => m.slug);
  }

  /**
   * Every enrollment of a course, active or not (`GET /api/enrollment/v1/enrollments/?course_id=`,
   * staff only; cursor pagination, 100 a page, `{next, previous, results}`).
   */
  async *enrollments(courseKey: string): AsyncGenerator<LmsEnrollment> {
    let path: string | null = `/api/enrollment/v1/enrollments/?course_id=${encodeURIComponent(courseKey)}`;
    while (path) {
      const res: { next: string | null; results: LmsEnrollment[] } | null = await this.api.call('GET', path);
      if (!res) return;
      yield* res.results;
      path = res.next ? pathOf(res.next) : null;
    }
  }
}

/** `next` is an absolute URL on the LMS: its path and query. */
function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}
