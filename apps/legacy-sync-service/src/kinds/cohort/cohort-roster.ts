import { Injectable } from '@nestjs/common';
import { Pool } from 'mysql2/promise';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LmsCohortsClient } from '../../lms/lms-cohorts.client';
import { LmsMember } from '../legacy-kind.port';
import { LmsDatabase } from '../../lms/lms-database';

/** The cohorts of one course as the LMS holds them. */
export interface CourseRoster {
  courseKey: string;
  /** False when the LMS does not know the course. */
  found: boolean;
  cohorts: Map<number, { name: string; members: Map<string, LmsMember> | null }>;
  /** Name of the cohort a learner (lower-case username) is in, where known (every cohort on the database path). */
  cohortOf: Map<string, string>;
}

/** Reads cohorts and their members from the LMS, through its database (fast) or its REST API. */
@Injectable()
export class CohortRoster {
  private readonly pool: Pool | null;
  readonly source: 'database' | 'rest';

  constructor(
    private readonly lms: LmsCohortsClient,
    database: LmsDatabase,
  ) {
    this.pool = database.pool;
    this.source = this.pool ? 'database' : 'rest';
  }

  /**
   * `wanted`: per course, the cohort ids whose members to read (the REST path reads only those).
   */
  async read(wanted: Map<string, Set<number>>): Promise<CourseRoster[]> {
    return this.pool ? this.readDatabase(this.pool, wanted) : this.readRest(wanted);
  }

  /**
   * edx-platform's tables: course_groups_courseusergroup (cohorts are group_type 'cohort'; indexed
   * by course_id), course_groups_cohortmembership (one row per learner and course), auth_user. A
   * query for the cohorts of the courses, then one per 1,000 cohorts for their members.
   */
  private async readDatabase(pool: Pool, wanted: Map<string, Set<number>>): Promise<CourseRoster[]> {
    const courses = [...wanted.keys()];
    const rosters = new Map(
      courses.map((c) => [c, { courseKey: c, found: false, cohorts: new Map(), cohortOf: new Map() } as CourseRoster]),
    );
    if (!courses.length) return [];
    const [cohorts] = (await pool.query(
      `SELECT id, name, course_id FROM course_groups_courseusergroup WHERE course_id IN (?) AND group_type = 'cohort'`,
      [courses],
    )) as unknown as [Array<{ id: number; name: string; course_id: string }>];
    const names = new Map<number, string>();
    for (const c of cohorts) {
      const roster = rosters.get(c.course_id)!;
      roster.found = true;
      roster.cohorts.set(c.id, { name: c.name, members: new Map() });
      names.set(c.id, c.name);
    }
    // By cohort (edx-platform indexes course_user_group_id; course_id is not indexed there).
    const ids = cohorts.map((c) => c.id);
    for (let i = 0; i < ids.length; i += 1000) {
      const [rows] = (await pool.query(
        `SELECT m.course_id, m.course_user_group_id AS cohort_id, u.id AS user_id, u.username FROM course_groups_cohortmembership m
         JOIN auth_user u ON u.id = m.user_id WHERE m.course_user_group_id IN (?)`,
        [ids.slice(i, i + 1000)],
      )) as unknown as [Array<{ course_id: string; cohort_id: number; user_id: number; username: string }>];
      for (const r of rows) {
        const roster = rosters.get(r.course_id);
        const cohort = roster?.cohorts.get(r.cohort_id);
        if (!roster || !cohort) continue;
        const name = r.username.toLowerCase();
        cohort.members!.set(name, { userId: Number(r.user_id), username: r.username });
        roster.cohortOf.set(name, names.get(r.cohort_id)!);
      }
    }
    return [...rosters.values()];
  }

  /** The cohorts API: the course's cohorts, then each wanted cohort's users, a page of 100 at a time. */
  private async readRest(wanted: Map<string, Set<number>>): Promise<CourseRoster[]> {
    const out: CourseRoster[] = [];
    for (const [courseKey, ids] of wanted) {
      const roster: CourseRoster = { courseKey, found: true, cohorts: new Map(), cohortOf: new Map() };
      try {
        for (const c of await this.lms.listCohorts(courseKey))
          roster.cohorts.set(c.id, { name: c.name, members: null });
      } catch (error) {
        if (!(error instanceof LmsRejectedError) || error.status !== 404) throw error;
        roster.found = false;
        out.push(roster);
        continue;
      }
      for (const id of ids) {
        const cohort = roster.cohorts.get(id);
        if (!cohort) continue;
        cohort.members = new Map();
        for await (const user of this.lms.cohortUsers(courseKey, id)) {
          cohort.members.set(user.username.toLowerCase(), { userId: null, username: user.username });
          roster.cohortOf.set(user.username.toLowerCase(), cohort.name);
        }
      }
      out.push(roster);
    }
    return out;
  }
}
