import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Request } from 'express';
import { StaffGuard } from '../auth/token.guard';
import { lmsError, LmsErrorFilter, LmsHttpError } from '../lms-http.error';
import { CohortsService } from './cohorts.service';
import { KnownCourseGuard } from './course-settings.service';

const ASSIGNMENT_TYPES = ['random', 'manual'];

function pageParams(query: Record<string, string | undefined>, defaultSize = 10) {
  const page = Number(query.page ?? 1);
  const size = Math.min(100, Number(query.page_size ?? defaultSize));
  if (!Number.isInteger(page) || page < 1 || !Number.isInteger(size) || size < 1)
    throw new LmsHttpError(404, { detail: 'Invalid page.' });
  return { page, size };
}

function cohortId(raw: string): number {
  if (!/^[0-9]+$/.test(raw)) throw new LmsHttpError(404, { detail: 'Not found.' });
  return Number(raw);
}

/**
 * /api/cohorts/v1/, with edx-platform's request and response shapes. Course keys arrive unencoded in
 * the path. Global staff only (IsStaffOrAdmin), then 404 for a course the LMS does not have.
 */
@ApiTags('lms: cohorts v1')
@UseGuards(StaffGuard, KnownCourseGuard)
@UseFilters(LmsErrorFilter)
@Controller('api/cohorts/v1/courses/:courseKey/cohorts')
export class CohortsController {
  constructor(private readonly cohorts: CohortsService) {}

  /** A bare array: the view paginates (page_size 10 by default) but returns only the page's items. */
  @Get()
  async list(@Param('courseKey') courseKey: string, @Query() query: Record<string, string>) {
    const { page, size } = pageParams(query);
    const all = await this.cohorts.list(courseKey);
    if (page > 1 && (page - 1) * size >= all.length) throw new LmsHttpError(404, { detail: 'Invalid page.' });
    return Promise.all(all.slice((page - 1) * size, page * size).map((c) => this.cohorts.representation(c)));
  }

  @Post()
  @HttpCode(200)
  async create(@Param('courseKey') courseKey: string, @Body() body: Record<string, unknown>) {
    if (typeof body?.name !== 'string' || !body.name)
      throw lmsError(400, 'missing-cohort-name', 'Cohort name must be specified.');
    if (!ASSIGNMENT_TYPES.includes(body.assignment_type as string))
      throw lmsError(400, 'missing-assignment-type', 'Assignment type must be specified.');
    return this.cohorts.representation(await this.cohorts.create(courseKey, body.name, body.assignment_type as string));
  }

  @Get(':cohortId')
  async read(@Param('courseKey') courseKey: string, @Param('cohortId') id: string) {
    return this.cohorts.representation(await this.cohorts.get(courseKey, cohortId(id)));
  }

  @Patch(':cohortId')
  @HttpCode(204)
  async update(
    @Param('courseKey') courseKey: string,
    @Param('cohortId') id: string,
    @Body() body: Record<string, unknown>,
  ) {
    const name = body?.name as string | undefined;
    const type = body?.assignment_type as string | undefined;
    if (name === undefined && type === undefined)
      throw lmsError(400, 'missing-fields', 'Values for cohort name or assignment type must be specified.');
    if (type !== undefined && !ASSIGNMENT_TYPES.includes(type))
      throw lmsError(400, 'missing-assignment-type', 'Assignment type must be specified.');
    await this.cohorts.update(courseKey, cohortId(id), name, type);
  }

  @Get(':cohortId/users')
  async users(
    @Param('courseKey') courseKey: string,
    @Param('cohortId') id: string,
    @Query() query: Record<string, string>,
    @Req() req: Request,
  ) {
    const { page, size } = pageParams(query);
    const { count, rows } = await this.cohorts.users(courseKey, cohortId(id), page, size);
    const numPages = Math.max(1, Math.ceil(count / size));
    if (page > numPages) throw new LmsHttpError(404, { detail: 'Invalid page.' });
    const link = (p: number) => `${req.protocol}://${req.get('host')}${req.path}?page=${p}&page_size=${size}`;
    return {
      next: page < numPages ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
      count,
      num_pages: numPages,
      current_page: page,
      start: (page - 1) * size,
      results: rows.map((u) => ({
        username: u.username,
        email: u.email,
        name: `${u.first_name} ${u.last_name}`.trim(),
      })),
    };
  }

  @Post(':cohortId/users')
  @HttpCode(200)
  async addUsers(
    @Param('courseKey') courseKey: string,
    @Param('cohortId') id: string,
    @Body() body: Record<string, unknown>,
  ) {
    const users = body?.users;
    if (!Array.isArray(users) || !users.length) throw lmsError(400, 'missing-users', 'Users must be specified.');
    return this.cohorts.addUsers(courseKey, cohortId(id), users.map(String));
  }

  @Post(':cohortId/users/:username')
  @HttpCode(200)
  async addUser(
    @Param('courseKey') courseKey: string,
    @Param('cohortId') id: string,
    @Param('username') username: string,
  ) {
    return this.cohorts.addUsers(courseKey, cohortId(id), [username]);
  }

  @Delete(':cohortId/users/:username')
  @HttpCode(204)
  async removeUser(
    @Param('courseKey') courseKey: string,
    @Param('cohortId') id: string,
    @Param('username') username: string,
  ) {
    await this.cohorts.removeUser(courseKey, cohortId(id), username);
  }
}
