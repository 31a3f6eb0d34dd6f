import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { createPool, Pool } from 'mysql2/promise';
import { LmsApiClient } from '@groups-sync/lms-client';
import { GroupsServiceConfig } from '../groups-service.config';

/** A rerun Studio finished: `course_action_state_coursererunstate`, state `succeeded`. */
export interface LmsRerun {
  sourceCourseKey: string;
  courseKey: string;
  /** `updated_time`, on the LMS database's clock: how far the reruns have been read. */
  updatedAt: Date;
}

const RERUNS_PAGE = 500;

/**
 * What the LMS knows of course runs: the enrollment modes a run offers (the enrollment API's course
 * details, open to anyone), and, through the read-only database path (LMS_DB_URL), the reruns
 * Studio recorded in `course_action_state_coursererunstate` (common/djangoapps/course_action_state).
 */
@Injectable()
export class LmsCourseRuns implements OnModuleDestroy {
  private readonly api: LmsApiClient;
  private readonly db?: Pool;

  constructor(config: GroupsServiceConfig) {
    this.api = new LmsApiClient(config);
    if (config.LMS_DB_URL)
      this.db = createPool({ uri: config.LMS_DB_URL, connectionLimit: 2, connectTimeout: config.LMS_TIMEOUT_MS });
  }

  get readsReruns(): boolean {
    return !!this.db;
  }

  /** The modes a run offers, expired ones included; null when the LMS does not know the run. */
  async modesOf(courseKey: string): Promise<string[] | null> {
    const details = await this.api.call<{ course_modes: Array<{ slug: string }> }>(
      'GET',
      `/api/enrollment/v1/course/${encodeURIComponent(courseKey)}?include_expired=1`,
      undefined,
      { emptyOn: [400, 404] },
    );
    return details ? details.course_modes.map((m) => m.slug) : null;
  }

  /** Succeeded reruns updated at or after `since` (LMS clock), oldest first, a page at a time. */
  async succeededSince(since: Date): Promise<LmsRerun[]> {
    const [rows] = await this.db!.query(
      `SELECT source_course_key, course_key, updated_time FROM course_action_state_coursererunstate
       WHERE action = 'rerun' AND state = 'succeeded' AND updated_time >= ? ORDER BY updated_time LIMIT ?`,
      [since, RERUNS_PAGE],
    );
    return (rows as Array<{ source_course_key: string; course_key: string; updated_time: Date }>).map((r) => ({
      sourceCourseKey: r.source_course_key,
      courseKey: r.course_key,
      updatedAt: r.updated_time,
    }));
  }

  /** The LMS database's own time, `hoursBack` hours ago: where a first read of its reruns starts. */
  async lmsTimeHoursAgo(hoursBack: number): Promise<Date> {
    const [rows] = await this.db!.query('SELECT NOW(6) - INTERVAL ? HOUR AS since', [hoursBack]);
    return (rows as Array<{ since: Date }>)[0].since;
  }

  async onModuleDestroy(): Promise<void> {
    await this.db?.end();
  }
}
