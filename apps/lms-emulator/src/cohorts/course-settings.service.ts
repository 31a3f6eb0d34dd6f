import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Request } from 'express';
import { DataSource } from 'typeorm';
import { lmsError } from '../lms-http.error';

export interface CohortSettings {
  id: number;
  is_cohorted: boolean;
}

/**
 * CourseCohortsSettings, and which courses exist: the emulator has no modulestore, so a course is
 * known when it has this row (the fixtures make it). edx-platform's views look the course up first
 * (get_course_with_access) and answer 404 for one that does not exist.
 */
@Injectable()
export class CourseSettingsService {
  constructor(private readonly dataSource: DataSource) {}

  async get(courseId: string): Promise<CohortSettings> {
    const [row] = await this.dataSource.query(
      'SELECT id, is_cohorted FROM course_groups_coursecohortssettings WHERE course_id = ?',
      [courseId],
    );
    if (!row) throw lmsError(404, 'course-not-found', `Course not found: ${courseId}.`);
    return { id: Number(row.id), is_cohorted: !!row.is_cohorted };
  }

  /** cohorts.set_course_cohorted. */
  async setCohorted(courseId: string, cohorted: boolean): Promise<CohortSettings> {
    await this.get(courseId);
    await this.dataSource.query('UPDATE course_groups_coursecohortssettings SET is_cohorted = ? WHERE course_id = ?', [
      cohorted,
      courseId,
    ]);
    return this.get(courseId);
  }

  /** Makes courses known (fixtures); a course known already keeps its settings. */
  async ensure(courseIds: string[], cohorted: boolean): Promise<void> {
    const unique = [...new Set(courseIds)];
    for (let i = 0; i < unique.length; i += 1000) {
      const chunk = unique.slice(i, i + 1000);
      await this.dataSource.query(
        `INSERT INTO course_groups_coursecohortssettings (course_id, is_cohorted) VALUES ${chunk.map(() => '(?, ?)').join(', ')}
         ON DUPLICATE KEY UPDATE id = id`,
        chunk.flatMap((c) => [c, cohorted]),
      );
    }
  }
}

/** 404 for a course the emulator does not know, before anything else about the request is judged. */
@Injectable()
export class KnownCourseGuard implements CanActivate {
  constructor(private readonly courses: CourseSettingsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    await this.courses.get(String(context.switchToHttp().getRequest<Request>().params.courseKey));
    return true;
  }
}
