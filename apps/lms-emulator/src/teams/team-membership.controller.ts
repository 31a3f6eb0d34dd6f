import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
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
import { expandOf } from './teams.controller';
import { TeamRow, TeamsAccess } from './teams-access';
import { apiUserOf, TeamsAuthGuard } from './teams-auth.guard';
import { TeamsConfig } from './teams-config';
import { TeamsConfigService } from './teams-config.service';
import { apiError, MemberRow, TeamsService } from './teams.service';

/**
 * /api/team/v0/team_membership/ and .../{team_id},{username} (MembershipListView,
 * MembershipDetailView in lms/djangoapps/teams/views.py), checks in the views' order. Where the
 * views hide what exists they answer 404 with an empty body.
 */
@ApiTags('lms: teams v0')
@UseGuards(TeamsAuthGuard)
@UseFilters(LmsErrorFilter)
@Controller('api/team/v0/team_membership')
export class TeamMembershipController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly teams: TeamsService,
    private readonly access: TeamsAccess,
    private readonly configs: TeamsConfigService,
  ) {}

  /** Needs `username`, or `team_id`, or `teamset_id` with `course_id`; 10 a page. */
  @Get()
  async list(@Req() req: Request, @Query() query: Record<string, unknown>) {
    const user = apiUserOf(req);
    const courseId = query.course_id === undefined ? null : String(query.course_id);
    if (courseId !== null && !isCourseKey(courseId)) throw new LmsHttpError(404, null);
    let teamIds: number[] | null = null;
    let specified = false;
    if (query.team_id !== undefined && query.teamset_id !== undefined)
      throw new LmsHttpError(400, apiError('teamset_id and team_id are mutually exclusive options.'));
    if (query.team_id !== undefined) {
      specified = true;
      const team = await this.teams.find(String(query.team_id));
      if (!team) throw new LmsHttpError(404, null);
      if (courseId !== null && courseId !== team.course_id) throw new LmsHttpError(400, null);
      if (!(await this.access.hasTeamApiAccess(user, team.course_id))) throw new LmsHttpError(404, null);
      if (!(await this.access.hasSpecificTeamAccess(user, team, await this.configOf(team))))
        throw new LmsHttpError(403, null);
      teamIds = [team.id];
    } else if (query.teamset_id !== undefined) {
      if (courseId === null)
        throw new LmsHttpError(400, apiError('teamset_id requires course_id to also be provided.'));
      if (!(await this.access.hasTeamApiAccess(user, courseId))) throw new LmsHttpError(404, null);
      const config = await this.configs.get(courseId);
      if (!config) throw new LmsHttpError(404, null);
      specified = true;
      const teamsetId = String(query.teamset_id);
      const teamset = config.teamset(teamsetId);
      if (!teamset) throw new LmsHttpError(404, apiError('No teamset found in given course with given id'));
      const inTeamset: TeamRow[] = await this.dataSource.query(
        'SELECT * FROM teams_courseteam WHERE course_id = ? AND topic_id = ?',
        [courseId, teamsetId],
      );
      const visible = (await this.access.isCourseStaff(user, courseId))
        ? inTeamset
        : await filterAsync(inTeamset, (t) => this.access.hasSpecificTeamAccess(user, t, config));
      if (teamset.type === 'private_managed' && !visible.length && !(await this.access.isCourseStaff(user, courseId))) {
        throw new LmsHttpError(404, apiError('No teamset found in given course with given id'));
      }
      teamIds = visible.map((t) => t.id);
    }
    let courseIds: string[] | null = courseId === null ? null : [courseId];
    if (query.username !== undefined) {
      specified = true;
      // Learners see memberships only in courses they are enrolled in or staff of; global staff see all.
      if (!user.staff) {
        const rows = await this.dataSource.query(
          `SELECT course_id FROM student_courseenrollment WHERE user_id = ? AND is_active = 1
           UNION SELECT course_id FROM student_courseaccessrole WHERE user_id = ? AND role = 'staff'`,
          [user.id ?? 0, user.id ?? 0],
        );
        const accessible = rows.map((r: { course_id: string }) => r.course_id);
        if (courseId !== null && !accessible.includes(courseId)) throw new LmsHttpError(400, null);
        courseIds ??= accessible;
      }
    }
    if (!specified) throw new LmsHttpError(400, apiError('username or (team_id or teamset_id) must be specified.'));
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.username !== undefined) {
      where.push('u.username = ?');
      args.push(String(query.username));
    }
    for (const [column, values] of [
      ['t.course_id', courseIds],
      ['t.id', teamIds],
    ] as const) {
      if (values === null) continue;
      where.push(values.length ? `${column} IN (?)` : 'FALSE');
      if (values.length) args.push(values);
    }
    const from = `FROM teams_courseteammembership m JOIN teams_courseteam t ON t.id = m.team_id JOIN auth_user u ON u.id = m.user_id WHERE ${where.join(' AND ')}`;
    const page = new PageNumberPage(req, 10);
    const [{ n }] = await this.dataSource.query(`SELECT COUNT(*) AS n ${from}`, args);
    const rows = await this.dataSource.query(
      `SELECT t.*, m.team_id AS team_db_id, m.user_id, m.date_joined, m.last_activity_at AS member_last_activity_at, u.username, u.email, u.first_name, u.last_name,
       u.is_active, u.is_staff ${from} ORDER BY m.id LIMIT ? OFFSET ?`,
      [...args, page.size, page.offset],
    );
    const expand = expandOf(query);
    return page.respond(
      Number(n),
      rows.map((r: TeamRow & MemberRow & { member_last_activity_at: Date }) =>
        this.teams.membershipJson(req, r, { ...r, last_activity_at: r.member_last_activity_at }, expand),
      ),
    );
  }

  /**
   * Adds `{username, team_id}`: learners themselves only, course staff anyone. Refusals in the view's
   * order: team full (400; the course's max_team_size, see below), instructor-managed teamset (403),
   * then add_user's: not enrolled (400), already on a team of the teamset (400).
   */
  @Post()
  @HttpCode(200)
  async add(@Req() req: Request, @Body() body: Record<string, unknown>, @Query() query: Record<string, unknown>) {
    const caller = apiUserOf(req);
    const fieldErrors: Record<string, object> = {};
    if (!body || !('username' in body)) fieldErrors.username = apiError('Username is required.');
    if (!body || !('team_id' in body)) fieldErrors.team_id = apiError('Team id is required.');
    if (Object.keys(fieldErrors).length) throw new LmsHttpError(400, { field_errors: fieldErrors });
    const team = await this.teams.find(String(body.team_id));
    if (!team) throw new LmsHttpError(404, null);
    const username = String(body.username);
    if (!(await this.access.hasTeamApiAccess(caller, team.course_id, username))) throw new LmsHttpError(404, null);
    const config = await this.configOf(team);
    if (!(await this.access.hasSpecificTeamAccess(caller, team, config))) throw new LmsHttpError(404, null);
    const [user] = await this.dataSource.query('SELECT id, username, is_staff FROM auth_user WHERE username = ?', [
      username,
    ]);
    if (!user) throw new LmsHttpError(404, null);
    // views.py checks the course's default size, not calc_max_team_size ("TODO MST-32"): a teamset's own max_team_size is not enforced here.
    const maxTeamSize = config.defaultMaxTeamSize;
    const [{ n }] = await this.dataSource.query(
      'SELECT COUNT(*) AS n FROM teams_courseteammembership WHERE team_id = ?',
      [team.id],
    );
    if (Number(n) >= maxTeamSize) throw new LmsHttpError(400, apiError('This team is already full.'));
    if (!(await this.access.canManageTeamset(caller, team.course_id, team.topic_id, config)))
      throw new LmsHttpError(403, apiError("You can't join an instructor managed team."));
    const member = await this.teams.addMember(
      team,
      { id: user.id, username: user.username, staff: !!user.is_staff },
      maxTeamSize,
    );
    return this.teams.membershipJson(req, team, member, expandOf(query));
  }

  @Get(':membership')
  async read(@Req() req: Request, @Param('membership') key: string, @Query() query: Record<string, unknown>) {
    const caller = apiUserOf(req);
    const { teamId, username } = membershipKey(key);
    const team = await this.teams.find(teamId);
    if (!team) throw new LmsHttpError(404, { detail: 'Not found.' });
    if (!(await this.access.hasTeamApiAccess(caller, team.course_id))) throw new LmsHttpError(404, null);
    if (!(await this.access.hasSpecificTeamAccess(caller, team, await this.configOf(team))))
      throw new LmsHttpError(404, null);
    const member = await this.teams.member(team, username);
    if (!member) throw new LmsHttpError(404, { detail: 'Not found.' });
    return this.teams.membershipJson(req, team, member, expandOf(query));
  }

  /** Learners leave themselves, course staff remove anyone (`?admin` only changes the tracking log's remove_method). */
  @Delete(':membership')
  @HttpCode(204)
  async remove(@Req() req: Request, @Param('membership') key: string) {
    const caller = apiUserOf(req);
    const { teamId, username } = membershipKey(key);
    const team = await this.teams.find(teamId);
    if (!team) throw new LmsHttpError(404, { detail: 'Not found.' });
    if (!(await this.access.hasTeamApiAccess(caller, team.course_id, username))) throw new LmsHttpError(404, null);
    const config = await this.configOf(team);
    if (!(await this.access.hasSpecificTeamAccess(caller, team, config))) throw new LmsHttpError(404, null);
    if (!(await this.access.canManageTeamset(caller, team.course_id, team.topic_id, config)))
      throw new LmsHttpError(403, apiError("You can't leave an instructor managed team."));
    const member = await this.teams.member(team, username);
    if (!member) throw new LmsHttpError(404, { detail: 'Not found.' });
    await this.teams.removeMember(team, member);
  }

  private async configOf(team: TeamRow): Promise<TeamsConfig> {
    return (await this.configs.get(team.course_id)) ?? new TeamsConfig({});
  }
}

/** `{team_id},{username}`: usernames have no comma, team ids are slugs. */
function membershipKey(key: string): { teamId: string; username: string } {
  const comma = key.lastIndexOf(',');
  if (comma < 0) throw new LmsHttpError(404, null);
  return { teamId: key.slice(0, comma), username: key.slice(comma + 1) };
}

async function filterAsync<T>(items: T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const kept: T[] = [];
  for (const item of items) if (await keep(item)) kept.push(item);
  return kept;
}
