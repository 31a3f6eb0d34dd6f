import { Injectable } from '@nestjs/common';
import { Pool } from 'mysql2/promise';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LmsEnrollmentsClient } from '../../lms/lms-enrollments.client';
import { trackOf } from './enrollment-tracks';
import { LmsMember } from '../legacy-kind.port';
import { LmsDatabase } from '../../lms/lms-database';

/** The enrollment tracks of one course as the LMS holds them: track → learners (lower-case username). */
export interface TrackRosterOfCourse {
  courseKey: string;
  /** False when the LMS does not know the course (the REST path tells; the database path assumes it does). */
  found: boolean;
  tracks: Map<string, Map<string, LmsMember>>;
}

/** Reads who is in each enrollment track from the LMS, through its database (fast) or the enrollment API. */
@Injectable()
export class TrackRoster {
  private readonly pool: Pool | null;

  constructor(
    private readonly lms: LmsEnrollmentsClient,
    database: LmsDatabase,
  ) {
    this.pool = database.pool;
  }

  async read(courses: string[]): Promise<TrackRosterOfCourse[]> {
    const rosters = new Map(
      courses.map((c) => [c, { courseKey: c, found: true, tracks: new Map() } as TrackRosterOfCourse]),
    );
    const place = (roster: TrackRosterOfCourse, mode: string, active: boolean, member: LmsMember) => {
      const track = trackOf(mode, active);
      if (!track) return;
      if (!roster.tracks.has(track)) roster.tracks.set(track, new Map());
      roster.tracks.get(track)!.set(member.username.toLowerCase(), member);
    };
    if (this.pool) {
      // edx-platform's student_courseenrollment (unique on user and course, indexed by course_id), active enrollments only.
      for (let i = 0; i < courses.length; i += 100) {
        const [rows] = (await this.pool.query(
          `SELECT e.course_id, e.mode, u.id AS user_id, u.username FROM student_courseenrollment e JOIN auth_user u ON u.id = e.user_id
           WHERE e.course_id IN (?) AND e.is_active = 1`,
          [courses.slice(i, i + 100)],
        )) as unknown as [Array<{ course_id: string; mode: string; user_id: number; username: string }>];
        for (const r of rows)
          place(rosters.get(r.course_id)!, r.mode, true, { userId: Number(r.user_id), username: r.username });
      }
      return [...rosters.values()];
    }
    for (const roster of rosters.values()) {
      try {
        for await (const e of this.lms.enrollments(roster.courseKey))
          place(roster, e.mode, e.is_active, { userId: null, username: e.user });
      } catch (error) {
        if (!(error instanceof LmsRejectedError) || error.status !== 404) throw error;
        roster.found = false;
      }
    }
    return [...rosters.values()];
  }
}
