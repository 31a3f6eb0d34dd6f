import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { AuthenticationFailed, DrfAuthentication } from '../auth/drf-authentication';
import { EnrollmentThrottle } from './enrollment-throttle';

/**
 * GET /api/enrollment/v1/roles/ (EnrollmentUserRolesView, openedx/core/djangoapps/enrollments/views.py):
 * the caller's own course access roles, `{roles: [{org, course_id, role}], is_staff}`, optionally for
 * one `course_id`. There is no parameter for another user: it answers for whoever the token names.
 */
@ApiExcludeController()
@Controller('api/enrollment/v1/roles')
export class RolesController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly auth: DrfAuthentication,
    private readonly throttle: EnrollmentThrottle,
  ) {}

  @Get()
  async roles(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Query('course_id') courseId?: string) {
    let user;
    try {
      user = await this.auth.authenticate(req, { jwt: true });
    } catch (error) {
      if (!(error instanceof AuthenticationFailed)) throw error;
      res.status(401).setHeader('WWW-Authenticate', 'JWT realm="api"');
      return { detail: error.detail };
    }
    if (!user || user.id === null) {
      res.status(401).setHeader('WWW-Authenticate', 'JWT realm="api"');
      return { detail: 'Authentication credentials were not provided.' };
    }
    this.throttle.check(res, { key: user.username ?? `id:${user.id}`, staff: user.staff });
    const rows: Array<{ org: string; course_id: string; role: string }> = await this.dataSource.query(
      `SELECT org, course_id, role FROM student_courseaccessrole WHERE user_id = ?${courseId ? ' AND course_id = ?' : ''} ORDER BY id`,
      courseId ? [user.id, courseId] : [user.id],
    );
    return { roles: rows.map((r) => ({ org: r.org, course_id: r.course_id, role: r.role })), is_staff: user.staff };
  }
}
