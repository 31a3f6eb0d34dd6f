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
import { DataSource } from 'typeorm';
import { isCourseKey } from '@groups-sync/contracts';
import { PageNumberPage } from '../drf';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';
import { teamFieldErrors, throwFieldErrors } from './team-fields';
import { TeamRow, TeamsAccess } from './teams-access';
import { apiUserOf, TeamsAuthGuard } from './teams-auth.guard';
import { TeamsConfig } from './teams-config';
import { TeamsConfigService } from './teams-config.service';
import { apiError, Expand, TeamsService } from './teams.service';

const ORDERINGS: Record<string, string> = {
  name: 'name, id', // MySQL orders names case-insensitively, as the view relies on
  open_slots: 'team_size, last_activity_at DESC, id',
  last_activity_at: 'last_activity_at DESC, team_size, id',
};
/** Fields a PATCH may not touch (CourseTeamSerializer's read-only ones). */
const READ_ONLY = ['id', 'discussion_topic_id', 'course_id', 'date_created', 'last_activity_at', 'membership'];
const NOT_ALLOWED = { detail: 'You do not have permission to perform this action.' };

export function expandOf(query: Record<string, unknown>): Expand {
  return new Set(
    String(query.expand ?? '')
      .split(',')
      .filter(Boolean),
  );
}

/**
 * /api/team/v0/teams/ and /api/team/v0/teams/{team_id} (TeamsListView, TeamsDetailView in
 * lms/djangoapps/teams/views.py): checks in the views' order, bodies as they build them (an empty
 * body where they return a bare status). Full-text search needs Elasticsearch, off by default
 * upstream: `text_search` is then ignored, as there.
 */
@ApiTags('lms: teams v0')
@UseGuards(TeamsAuthGuard)
@UseFilters(LmsErrorFilter)
@Controller('api/team/v0/teams')
export class TeamsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly teams: TeamsService,
    private readonly access: TeamsAccess,
    private readonly configs: TeamsConfigService,
  ) {}

  @Get()
  async list(@Req() req: Request, @Query() query: Record<string, unknown>) {
    const user = apiUserOf(req);
    if (query.course_id === undefined) throw new LmsHttpError(400, apiError('course_id must be provided'));
    const courseId = String(query.course_id);
    if (!isCourseKey(courseId))
      throw new LmsHttpError(400, apiError(`The supplied course id ${courseId} is not valid.`));
    const config = await this.configs.get(courseId);
    if (!config) throw new LmsHttpError(404, null);
    if (!(await this.access.hasTeamApiAccess(user, courseId))) throw new LmsHttpError(403, null);
    if (query.text_search && query.order_by)
      throw new LmsHttpError(400, apiError('text_search and order_by cannot be provided together'));
    const where = ['t.course_id = ?'];
    const args: unknown[] = [courseId];
    if (query.username !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM teams_courseteammembership m JOIN auth_user u ON u.id = m.user_id WHERE m.team_id = t.id AND u.username = ?)',
      );
      args.push(String(query.username));
    }
    if (query.topic_id !== undefined) {
      if (!config.teamset(String(query.topic_id)))
        throw new LmsHttpError(400, apiError(`The supplied topic id ${String(query.topic_id)} is not valid`));
      where.push('t.topic_id = ?');
      args.push(String(query.topic_id));
    }
    const protection = await this.access.protectionStatus(user, courseId);
    if (protection !== 'exempt') {
      where.push('t.organization_protected = ?');
      args.push(protection === 'protected' ? 1 : 0);
    }
    // Teams of private_managed teamsets are hidden from all but course staff and their members.
    const privateTeamsets = config.teamsets.filter((t) => t.type === 'private_managed').map((t) => t.id);
    if (privateTeamsets.length && !(await this.access.isCourseStaff(user, courseId))) {
      where.push(
        '(t.topic_id NOT IN (?) OR EXISTS (SELECT 1 FROM teams_courseteammembership m WHERE m.team_id = t.id AND m.user_id = ?))',
      );
      args.push(privateTeamsets, user.id ?? 0);
    }
    const orderBy = String(query.order_by ?? 'name');
    if (!ORDERINGS[orderBy]) {
      throw new LmsHttpError(400, {
        developer_message: `unsupported order_by value ${orderBy}`,
        user_message: `The ordering ${orderBy} is not supported`,
      });
    }
    const page = new PageNumberPage(req, 10);
    const [{ n }] = await this.dataSource.query(
      `SELECT COUNT(*) AS n FROM teams_courseteam t WHERE ${where.join(' AND ')}`,
      args,
    );
    const rows: TeamRow[] = await this.dataSource.query(
      `SELECT t.* FROM teams_courseteam t WHERE ${where.join(' AND ')} ORDER BY ${ORDERINGS[orderBy]} LIMIT ? OFFSET ?`,
      [...args, page.size, page.offset],
    );
    const members = await this.teams.members(rows);
    const expand = expandOf(query);
    return {
      ...page.respond(
        Number(n),
        rows.map((t) => this.teams.teamJson(req, t, members.get(t.id)!, expand)),
      ),
      sort_order: orderBy,
    };
  }

  /** A team in an open teamset, by any enrolled learner (who joins it), or in any teamset by course staff (who do not). */
  @Post()
  @HttpCode(200)
  async create(@Req() req: Request, @Body() body: Record<string, unknown>) {
    const user = apiUserOf(req);
    const courseId = typeof body?.course_id === 'string' ? body.course_id : null;
    if (courseId === null || !isCourseKey(courseId)) {
      throw new LmsHttpError(400, {
        field_errors: { course_id: apiError(`The supplied course_id ${courseId ?? 'None'} is not valid.`) },
      });
    }
    const config = await this.configs.get(courseId);
    if (!config) throw new LmsHttpError(404, null);
    const topicId = body.topic_id;
    if (!topicId) throw new LmsHttpError(400, { field_errors: { topic_id: apiError('topic_id is required') } });
    if (!(await this.access.hasTeamApiAccess(user, courseId))) throw new LmsHttpError(403, null);
    if (
      !config.teamset(String(topicId)) ||
      !(await this.access.hasSpecificTeamsetAccess(user, courseId, String(topicId), config))
    )
      throw new LmsHttpError(404, null);
    if (!(await this.access.canManageTeamset(user, courseId, String(topicId), config))) {
      throw new LmsHttpError(403, apiError("You can't create a team in an instructor managed topic."));
    }
    const administrator = await this.access.isCourseStaff(user, courseId);
    if (!administrator && (await this.access.inTeamForTeamset(user.id, courseId, String(topicId)))) {
      throw new LmsHttpError(400, apiError('You are already in a team in this teamset.'));
    }
    const protection = await this.access.protectionStatus(user, courseId);
    throwFieldErrors(teamFieldErrors(body, ['name', 'description', 'country', 'language'], ['name', 'description']));
    const team = await this.teams.create(
      courseId,
      String(topicId),
      {
        name: String(body.name),
        description: String(body.description),
        country: String(body.country ?? ''),
        language: String(body.language ?? ''),
      },
      protection === 'protected',
    );
    if (!administrator && user.id !== null && user.username !== null)
      await this.teams.addMember(team, { ...user, id: user.id, username: user.username }, Number.MAX_SAFE_INTEGER);
    return this.teams.teamJson(req, team, (await this.teams.members([team])).get(team.id)!, new Set());
  }

  @Get(':teamId')
  async read(@Req() req: Request, @Param('teamId') teamId: string, @Query() query: Record<string, unknown>) {
    const { team } = await this.teamWithObjectPermissions(req, teamId, false);
    return this.teams.teamJson(req, team, (await this.teams.members([team])).get(team.id)!, expandOf(query));
  }

  /** JSON merge patch only (MergePatchParser): another content type is 415 before anything else is looked at. */
  @Patch(':teamId')
  async update(@Req() req: Request, @Param('teamId') teamId: string, @Body() body: Record<string, unknown>) {
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim();
    if (contentType !== 'application/merge-patch+json')
      throw new LmsHttpError(415, { detail: `Unsupported media type "${contentType}" in request.` });
    const { team } = await this.teamWithObjectPermissions(req, teamId, true);
    const patch = body ?? {};
    const errors: Record<string, { developer_message: string; user_message: string }> = {};
    for (const key of READ_ONLY)
      if (key in patch)
        errors[key] = { developer_message: 'This field is not editable', user_message: 'This field is not editable' };
    Object.assign(
      errors,
      teamFieldErrors(
        patch,
        (['name', 'description', 'country', 'language'] as const).filter((f) => f in patch),
        ['name', 'description'],
      ),
    );
    if ('organization_protected' in patch && typeof patch.organization_protected !== 'boolean') {
      errors.organization_protected = {
        developer_message: `Value '${String(patch.organization_protected)}' is not valid for field 'organization_protected': ['Must be a valid boolean.']`,
        user_message: 'This value is invalid.',
      };
    }
    throwFieldErrors(errors);
    const changes: Record<string, string | boolean> = {};
    for (const key of ['name', 'description', 'country', 'language', 'topic_id', 'organization_protected']) {
      if (key in patch) changes[key] = key === 'organization_protected' ? (patch[key] as boolean) : String(patch[key]);
    }
    const updated = await this.teams.update(team, changes);
    return this.teams.teamJson(req, updated, (await this.teams.members([updated])).get(updated.id)!, new Set());
  }

  /** Course staff only; the memberships go too, each a removal. */
  @Delete(':teamId')
  @HttpCode(204)
  async remove(@Req() req: Request, @Param('teamId') teamId: string) {
    const { team } = await this.teamWithObjectPermissions(req, teamId, true);
    await this.teams.delete(team);
  }

  /**
   * TeamsDetailView's object permissions, in order: IsEnrolledOrIsStaff (403), HasSpecificTeamAccess
   * (404 "Not found."), and for writes IsStaffOrPrivilegedOrReadOnly (403).
   */
  private async teamWithObjectPermissions(
    req: Request,
    teamId: string,
    write: boolean,
  ): Promise<{ team: TeamRow; config: TeamsConfig }> {
    const user = apiUserOf(req);
    const team = await this.teams.find(teamId);
    if (!team) throw new LmsHttpError(404, { detail: 'No CourseTeam matches the given query.' });
    const config = (await this.configs.get(team.course_id)) ?? new TeamsConfig({});
    if (!(await this.access.hasTeamApiAccess(user, team.course_id))) throw new LmsHttpError(403, NOT_ALLOWED);
    if (!(await this.access.hasSpecificTeamAccess(user, team, config)))
      throw new LmsHttpError(404, { detail: 'Not found.' });
    if (write && !(await this.access.isCourseStaff(user, team.course_id))) throw new LmsHttpError(403, NOT_ALLOWED);
    return { team, config };
  }
}
