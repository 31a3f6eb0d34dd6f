import { Controller, Get, Query, Req, UseFilters, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Request } from 'express';
import { DataSource } from 'typeorm';
import { isCourseKey } from '@groups-sync/contracts';
import { ApiUser } from '../auth/drf-authentication';
import { PageNumberPage } from '../drf';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';
import { TeamsAccess } from './teams-access';
import { apiUserOf, TeamsAuthGuard } from './teams-auth.guard';
import { TeamsConfigService } from './teams-config.service';
import { apiError } from './teams.service';

/**
 * /api/team/v0/topics/?course_id= (TopicListView): the course's teamsets from its teams
 * configuration, by name (case-insensitively) or by team count, 12 a page, each
 * `{description, name, id, type, max_team_size, team_count}`. A private_managed teamset is
 * listed only to course staff and its members; team_count counts the teams the caller may see.
 */
@ApiTags('lms: teams v0')
@UseGuards(TeamsAuthGuard)
@UseFilters(LmsErrorFilter)
@Controller('api/team/v0/topics')
export class TopicsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly access: TeamsAccess,
    private readonly configs: TeamsConfigService,
  ) {}

  @Get()
  async list(@Req() req: Request, @Query() query: Record<string, unknown>) {
    const user = apiUserOf(req);
    if (query.course_id === undefined)
      throw new LmsHttpError(400, {
        field_errors: { course_id: apiError('The supplied course id None is not valid.') },
      });
    const courseId = String(query.course_id);
    if (!isCourseKey(courseId)) throw new LmsHttpError(404, null);
    const config = await this.configs.get(courseId);
    if (!config) throw new LmsHttpError(404, null);
    if (!(await this.access.hasTeamApiAccess(user, courseId))) throw new LmsHttpError(403, null);
    const ordering = String(query.order_by ?? 'name');
    if (!['name', 'team_count'].includes(ordering)) {
      throw new LmsHttpError(400, {
        developer_message: `unsupported order_by value ${ordering}`,
        user_message: `The ordering ${ordering} is not supported`,
      });
    }
    const staff = await this.access.isCourseStaff(user, courseId);
    const visible = [];
    for (const teamset of [...config.teamsets].sort((a, b) =>
      a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0,
    )) {
      if (
        staff ||
        teamset.type !== 'private_managed' ||
        (await this.access.inTeamForTeamset(user.id, courseId, teamset.id))
      )
        visible.push(teamset);
    }
    const counts = await this.teamCounts(
      user,
      courseId,
      staff,
      config.teamsets.filter((t) => t.type === 'private_managed').map((t) => t.id),
    );
    const topics = visible.map((t) => ({
      description: t.description,
      name: t.name,
      id: t.id,
      type: t.type,
      max_team_size: t.max_team_size,
      team_count: counts.get(t.id) ?? 0,
    }));
    if (ordering === 'team_count') topics.sort((a, b) => b.team_count - a.team_count); // stable: names stay the second key
    const page = new PageNumberPage(req, 12);
    return { ...page.respond(topics.length, topics.slice(page.offset, page.offset + page.size)), sort_order: ordering };
  }

  /** api.get_teams_accessible_by_user: the caller's protection bubble, private teams only where they are a member. */
  private async teamCounts(
    user: ApiUser,
    courseId: string,
    staff: boolean,
    privateTeamsets: string[],
  ): Promise<Map<string, number>> {
    const where = ['t.course_id = ?'];
    const args: unknown[] = [courseId];
    const protection = await this.access.protectionStatus(user, courseId);
    if (protection !== 'exempt') {
      where.push('t.organization_protected = ?');
      args.push(protection === 'protected' ? 1 : 0);
    }
    if (!staff && privateTeamsets.length) {
      where.push(
        '(t.topic_id NOT IN (?) OR EXISTS (SELECT 1 FROM teams_courseteammembership m WHERE m.team_id = t.id AND m.user_id = ?))',
      );
      args.push(privateTeamsets, user.id ?? 0);
    }
    const rows = await this.dataSource.query(
      `SELECT t.topic_id, COUNT(*) AS n FROM teams_courseteam t WHERE ${where.join(' AND ')} GROUP BY t.topic_id`,
      args,
    );
    return new Map(rows.map((r: { topic_id: string; n: number }) => [r.topic_id, Number(r.n)]));
  }
}
