import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';
import { EnrollmentsService } from './enrollments.service';

/** Enrollment changes other than enrolling (POST /emulator/enrollments), announced as edx-platform does; no token. */
@ApiTags('emulator: fixtures')
@UseFilters(LmsErrorFilter)
@Controller('emulator/enrollments')
export class EnrollmentFixturesController {
  constructor(private readonly enrollments: EnrollmentsService) {}

  /** `{username, course_id}`: CourseEnrollment.unenroll() → COURSE_ENROLLMENT_CHANGED, COURSE_UNENROLLMENT_COMPLETED (nothing if already inactive). */
  @Post('unenroll')
  @HttpCode(200)
  unenroll(@Body() body: Record<string, unknown>) {
    return this.enrollments.unenroll(String(body?.username ?? ''), required(body, 'course_id'));
  }

  /** `{username, course_id, mode}`: CourseEnrollment.change_mode() → COURSE_ENROLLMENT_CHANGED alone (nothing if the mode is the same). */
  @Post('mode')
  @HttpCode(200)
  changeMode(@Body() body: Record<string, unknown>) {
    return this.enrollments.changeMode(
      String(body?.username ?? ''),
      required(body, 'course_id'),
      required(body, 'mode'),
    );
  }
}

function required(body: Record<string, unknown>, field: string): string {
  if (typeof body?.[field] !== 'string' || !body[field])
    throw new LmsHttpError(400, { [field]: ['This field is required.'] });
  return body[field] as string;
}
