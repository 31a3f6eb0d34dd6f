import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  Query,
  Req,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { isCourseKey } from '@groups-sync/contracts';
import { EnrollmentThrottle } from './enrollment-throttle';
import { AuthenticationFailed, DrfAuthentication } from '../auth/drf-authentication';
import { drfTime, linkTo } from '../drf';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';

const USERNAME = /^[\w.@+-]+$/;
const MAX_USERNAMES = 100;

/**
 * CourseEnrollmentsApiListView's authentication and permission: `(JwtAuthentication,
 * BearerAuthenticationAllowInactiveUser, SessionAuthenticationAllowInactiveUser)`, so `JWT <jwt>`
 * or `Bearer <opaque token>`, and IsAdminUser (global staff). Errors come through
 * DeveloperErrorViewMixin: `{"developer_message": <DRF detail>}`.
 */
@Injectable()
export class EnrollmentsApiGuard implements CanActivate {
  constructor(
    private readonly auth: DrfAuthentication,
    private readonly throttle: EnrollmentThrottle,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    let user;
    try {
      user = await this.auth.authenticate(context.switchToHttp().getRequest<Request>(), { jwt: true });
    } catch (error) {
      if (!(error instanceof AuthenticationFailed)) throw error;
      throw this.unauthorized(context, error.detail);
    }
    if (!user) throw this.unauthorized(context, 'Authentication credentials were not provided.');
    if (!user.staff)
      throw new LmsHttpError(403, { developer_message: 'You do not have permission to perform this action.' });
    this.throttle.check(context.switchToHttp().getResponse<Response>(), {
      key: user.username ?? `id:${user.id}`,
      staff: user.staff,
    });
    return true;
  }

  private unauthorized(context: ExecutionContext, detail: unknown): LmsHttpError {
    context.switchToHttp().getResponse<Response>().setHeader('WWW-Authenticate', 'JWT realm="api"');
    return new LmsHttpError(401, { developer_message: detail });
  }
}

interface EnrollmentListRow {
  id: number;
  created: Date;
  mode: string;
  is_active: number;
  username: string;
  course_id: string;
}

/**
 * GET /api/enrollment/v1/enrollments/ (CourseEnrollmentsApiListView,
 * openedx/core/djangoapps/enrollments/views.py): every enrollment, active or not, filtered by
 * `course_id`, `course_ids` (comma-separated, matched as substrings), `username` (comma-separated,
 * at most 100) and `email`; each `{created, mode, is_active, user, course_id}`. An unknown course or
 * user gives no results, not a 404. Paginated as CourseEnrollmentsApiListPagination (DRF
 * CursorPagination, `-created`, 100 a page, `page_size` up to 100): `{next, previous, results}`,
 * with opaque `cursor` links. Ties on `created` are broken by id, so no row is skipped or repeated.
 */
@ApiTags('lms: enrollment v1')
@UseGuards(EnrollmentsApiGuard)
@UseFilters(LmsErrorFilter)
@Controller('api/enrollment/v1/enrollments')
export class EnrollmentsController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  async list(@Req() req: Request, @Query() query: Record<string, unknown>) {
    const where: string[] = [];
    const args: unknown[] = [];
    const fieldErrors: Record<string, { developer_message: string }> = {};
    const one = (name: string) => (query[name] === undefined || query[name] === '' ? undefined : String(query[name]));
    const courseId = one('course_id');
    if (courseId !== undefined) {
      if (isCourseKey(courseId)) {
        where.push('e.course_id = ?');
        args.push(courseId);
      } else {
        fieldErrors.course_id = { developer_message: `'${courseId}' is not a valid course id.` };
      }
    }
    const usernames = one('username')?.split(',');
    if (usernames) {
      if (usernames.length > MAX_USERNAMES) {
        fieldErrors.username = {
          developer_message: `Too many usernames in a single request - ${usernames.length}. A maximum of ${MAX_USERNAMES} is allowed`,
        };
      } else if (usernames.some((u) => !USERNAME.test(u))) {
        fieldErrors.username = {
          developer_message:
            'Usernames can only contain letters (A-Z, a-z), numerals (0-9), underscores (_), and hyphens (-).',
        };
      } else {
        where.push('u.username IN (?)');
        args.push(usernames);
      }
    }
    if (Object.keys(fieldErrors).length) throw new LmsHttpError(400, { field_errors: fieldErrors });
    const courseIds = one('course_ids')?.split(',');
    if (courseIds) {
      where.push(`(${courseIds.map(() => 'e.course_id LIKE ?').join(' OR ')})`);
      args.push(...courseIds.map((c) => `%${c.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`));
    }
    const emails = one('email')?.split(',');
    if (emails) {
      where.push('u.email IN (?)');
      args.push(emails);
    }
    const size = pageSize(query.page_size);
    const cursor = decodeCursor(query.cursor);
    if (cursor) {
      where.push(cursor.reverse ? '(e.created, e.id) > (?, ?)' : '(e.created, e.id) < (?, ?)');
      args.push(cursor.created, cursor.id);
    }
    const rows: EnrollmentListRow[] = await this.dataSource.query(
      `SELECT e.id, e.created, e.mode, e.is_active, e.course_id, u.username FROM student_courseenrollment e JOIN auth_user u ON u.id = e.user_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.created ${cursor?.reverse ? 'ASC' : 'DESC'}, e.id ${cursor?.reverse ? 'ASC' : 'DESC'} LIMIT ?`,
      [...args, size + 1],
    );
    const more = rows.length > size;
    const page = rows.slice(0, size);
    if (cursor?.reverse) page.reverse();
    const hasNext = cursor?.reverse ? true : more;
    const hasPrevious = cursor?.reverse ? more : !!cursor;
    return {
      next: hasNext && page.length ? linkTo(req, { cursor: encodeCursor(page[page.length - 1], false) }) : null,
      previous: hasPrevious && page.length ? linkTo(req, { cursor: encodeCursor(page[0], true) }) : null,
      results: page.map((e) => ({
        created: drfTime(e.created),
        mode: e.mode,
        is_active: !!e.is_active,
        user: e.username,
        course_id: e.course_id,
      })),
    };
  }
}

function pageSize(raw: unknown): number {
  const asked = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : 0;
  return asked > 0 ? Math.min(asked, 100) : 100;
}

/** DRF's cursor is base64 of a query string (`p` position, `r` reverse); ours positions on (created, id). */
function encodeCursor(row: EnrollmentListRow, reverse: boolean): string {
  const tokens = new URLSearchParams({
    p: `${new Date(row.created).toISOString()}|${row.id}`,
    ...(reverse ? { r: '1' } : {}),
  });
  return Buffer.from(tokens.toString()).toString('base64');
}

function decodeCursor(raw: unknown): { created: Date; id: number; reverse: boolean } | null {
  if (raw === undefined) return null;
  const tokens = new URLSearchParams(Buffer.from(String(raw), 'base64').toString('ascii'));
  const [at, id] = (tokens.get('p') ?? '').split('|');
  const created = new Date(at);
  if (!at || Number.isNaN(created.getTime()) || !/^\d+$/.test(id ?? ''))
    throw new LmsHttpError(404, { developer_message: 'Invalid cursor' });
  return { created, id: Number(id), reverse: tokens.get('r') === '1' };
}
