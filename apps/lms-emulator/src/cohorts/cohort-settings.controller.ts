import { Body, Controller, Get, Param, Patch, Put, UseFilters, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { StaffGuard } from '../auth/token.guard';
import { lmsError, LmsErrorFilter } from '../lms-http.error';
import { CourseSettingsService, KnownCourseGuard } from './course-settings.service';

/** /api/cohorts/v1/settings/{course_key} (CohortSettings): `{id, is_cohorted}`; PUT sets is_cohorted. */
@ApiTags('lms: cohorts v1')
@UseGuards(StaffGuard, KnownCourseGuard)
@UseFilters(LmsErrorFilter)
@Controller('api/cohorts/v1/settings/:courseKey')
export class CohortSettingsController {
  constructor(private readonly courses: CourseSettingsService) {}

  @Get()
  read(@Param('courseKey') courseKey: string) {
    return this.courses.get(courseKey);
  }

  @Put()
  async update(@Param('courseKey') courseKey: string, @Body() body: Record<string, unknown>) {
    if (!body || !('is_cohorted' in body)) throw lmsError(400, 'missing-is_cohorted', 'Bad Request');
    // set_course_cohorted raises ValueError for anything but a bool; the view answers 400 with it.
    if (typeof body.is_cohorted !== 'boolean')
      throw lmsError(400, 'error-setting-is_cohorted', 'Cohorted must be a boolean');
    return this.courses.setCohorted(courseKey, body.is_cohorted);
  }

  /** edx-platform has PUT only; PATCH is taken the same way, for clients that send it. */
  @Patch()
  patch(@Param('courseKey') courseKey: string, @Body() body: Record<string, unknown>) {
    return this.update(courseKey, body);
  }
}
