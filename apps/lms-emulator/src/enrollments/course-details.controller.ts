import { Controller, Get, Param, Query, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';

/** The modes every course the fixtures make offers (edx-platform's courses mostly have audit and verified). */
const DEFAULT_MODES = ['audit', 'verified'];

/**
 * GET /api/enrollment/v1/course/{course_id} (EnrollmentCourseDetailView,
 * openedx/core/djangoapps/enrollments/views.py): open to anyone (no authentication), the course's
 * enrollment details with its `course_modes` (unexpired ones, all with `include_expired=1`); 400
 * `{"message": "No course found for course ID '...'"}` for a course it does not know (views.py @85f323f). The emulator
 * has no CourseMode table: a course offers the default modes and every mode a learner is enrolled in.
 */
@ApiTags('lms: enrollment v1')
@UseFilters(LmsErrorFilter)
@Controller('api/enrollment/v1/course')
export class CourseDetailsController {
  constructor(private readonly dataSource: DataSource) {}

  @Get(':courseId')
  async details(@Param('courseId') courseId: string, @Query('include_expired') _includeExpired?: string) {
    const [known] = await this.dataSource.query(
      'SELECT 1 AS found FROM course_groups_coursecohortssettings WHERE course_id = ?',
      [courseId],
    );
    if (!known) throw new LmsHttpError(400, { message: `No course found for course ID '${courseId}'` });
    const enrolled: Array<{ mode: string }> = await this.dataSource.query(
      'SELECT DISTINCT mode FROM student_courseenrollment WHERE course_id = ?',
      [courseId],
    );
    const modes = [...new Set([...DEFAULT_MODES, ...enrolled.map((r) => r.mode)])];
    return {
      course_id: courseId,
      course_name: courseId,
      enrollment_start: null,
      enrollment_end: null,
      course_start: null,
      course_end: null,
      invite_only: false,
      pacing_type: 'Instructor Paced',
      course_modes: modes.map((slug) => ({
        slug,
        name: slug[0].toUpperCase() + slug.slice(1),
        min_price: slug === 'audit' ? 0 : 49,
        suggested_prices: '',
        currency: 'usd',
        expiration_datetime: null,
        description: null,
        sku: null,
        bulk_sku: null,
      })),
    };
  }
}
