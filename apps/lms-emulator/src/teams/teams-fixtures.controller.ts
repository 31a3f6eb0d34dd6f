import { Body, Controller, Delete, HttpCode, Param, Post, Req, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Request } from 'express';
import { DataSource } from 'typeorm';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';
import { teamFieldErrors, throwFieldErrors } from './team-fields';
import { TeamsConfigService } from './teams-config.service';
import { TeamsService } from './teams.service';

/**
 * Test and demo helpers for teams (not LMS endpoints: no token). They apply the LMS's rules for
 * the data (teamset exists; enrolled, one team per teamset, team size) but not who may ask.
 */
@ApiTags('emulator: fixtures')
@UseFilters(LmsErrorFilter)
@Controller('emulator')
export class TeamsFixturesController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly teams: TeamsService,
    private readonly configs: TeamsConfigService,
  ) {}

  /** `{course_id, topic_id, name, description?, country?, language?}` → the team as the teams API shows it (no members). */
  @Post('teams')
  async createTeam(@Req() req: Request, @Body() body: Record<string, unknown>) {
    const courseId = String(body?.course_id ?? '');
    const config = await this.configs.get(courseId);
    if (!config)
      throw new LmsHttpError(400, {
        course_id: [`Unknown course ${courseId}: make it known with POST /emulator/courses.`],
      });
    if (!config.teamset(String(body.topic_id ?? '')))
      throw new LmsHttpError(400, { topic_id: ["Not a teamset of the course's teams_configuration."] });
    const fields: Record<string, unknown> = { description: '', country: '', language: '', ...body };
    throwFieldErrors(teamFieldErrors(fields, ['name', 'description', 'country', 'language'], ['name']));
    const team = await this.teams.create(
      courseId,
      String(body.topic_id),
      {
        name: String(fields.name),
        description: String(fields.description),
        country: String(fields.country),
        language: String(fields.language),
      },
      false,
    );
    return this.teams.teamJson(req, team, [], new Set());
  }

  /** `{team_id, username}`: as the membership API adds a learner (course's max team size, enrolled, one team per teamset). */
  @Post('team-memberships')
  async addMember(@Req() req: Request, @Body() body: Record<string, unknown>) {
    const team = await this.teams.find(String(body?.team_id ?? ''));
    if (!team) throw new LmsHttpError(404, { team_id: ['Unknown team.'] });
    const [user] = await this.dataSource.query('SELECT id, username, is_staff FROM auth_user WHERE username = ?', [
      String(body.username ?? ''),
    ]);
    if (!user) throw new LmsHttpError(400, { username: ['Unknown user.'] });
    const config = await this.configs.get(team.course_id);
    const member = await this.teams.addMember(
      team,
      { id: user.id, username: user.username, staff: !!user.is_staff },
      config?.defaultMaxTeamSize ?? 0,
    );
    return this.teams.membershipJson(req, team, member, new Set());
  }

  /** `{team_id},{username}` leaves the team → 204; 404 when there is no such membership. */
  @Delete('team-memberships/:membership')
  @HttpCode(204)
  async removeMember(@Param('membership') key: string) {
    const comma = key.lastIndexOf(',');
    const team = comma < 0 ? undefined : await this.teams.find(key.slice(0, comma));
    const member = team && (await this.teams.member(team, key.slice(comma + 1)));
    if (!team || !member) throw new LmsHttpError(404, { detail: 'Not found.' });
    await this.teams.removeMember(team, member);
  }
}
