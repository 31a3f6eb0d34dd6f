import { Injectable } from '@nestjs/common';
import { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { EventType, TeamMembershipChangedData, toCeTime } from '@groups-sync/contracts';
import { drfTime } from '../drf';
import { LmsEventsPublisher } from '../events/lms-events.publisher';
import { LmsHttpError } from '../lms-http.error';
import { TeamRow, TeamsAccess } from './teams-access';
import { ApiUser } from '../auth/drf-authentication';

export interface MemberRow {
  team_db_id: number;
  user_id: number;
  date_joined: Date;
  last_activity_at: Date;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: number;
  is_staff: number;
}

export interface TeamFields {
  name: string;
  description: string;
  country: string;
  language: string;
}

/** Views' `expand` query parameter: `user` and/or `team` get their full representation. */
export type Expand = Set<string>;

const MEMBER_COLUMNS = `m.team_id AS team_db_id, m.user_id, m.date_joined, m.last_activity_at, u.username, u.email, u.first_name, u.last_name, u.is_active, u.is_staff`;

/** build_api_error (openedx/core/lib/api/view_utils.py): the same text as developer and user message. */
export function apiError(message: string): { developer_message: string; user_message: string } {
  return { developer_message: message, user_message: message };
}

/** Teams and memberships on edx-platform's tables (lms/djangoapps/teams/models.py), and their JSON. */
@Injectable()
export class TeamsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly access: TeamsAccess,
    private readonly events: LmsEventsPublisher,
  ) {}

  async find(teamId: string, manager: EntityManager = this.dataSource.manager): Promise<TeamRow | undefined> {
    const [team] = await manager.query('SELECT * FROM teams_courseteam WHERE team_id = ?', [teamId]);
    return team;
  }

  async members(teams: TeamRow[]): Promise<Map<number, MemberRow[]>> {
    const byTeam = new Map<number, MemberRow[]>(teams.map((t) => [t.id, []]));
    if (!teams.length) return byTeam;
    const rows: MemberRow[] = await this.dataSource.query(
      `SELECT ${MEMBER_COLUMNS} FROM teams_courseteammembership m JOIN auth_user u ON u.id = m.user_id WHERE m.team_id IN (?) ORDER BY m.id`,
      [teams.map((t) => t.id)],
    );
    for (const row of rows) byTeam.get(row.team_db_id)!.push(row);
    return byTeam;
  }

  /** CourseTeam.create: team_id is the slugified name (20 characters at most), a dash and a uuid4 hex, which is also the discussion topic id. */
  async create(
    courseId: string,
    topicId: string,
    fields: TeamFields,
    organizationProtected: boolean,
  ): Promise<TeamRow> {
    const unique = randomUUID().replace(/-/g, '');
    const teamId = `${slugify(fields.name).slice(0, 20)}-${unique}`;
    const now = new Date();
    await this.dataSource.query(
      `INSERT INTO teams_courseteam (team_id, discussion_topic_id, name, course_id, topic_id, date_created, description, country, language, last_activity_at, team_size, organization_protected)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
      [
        teamId,
        unique,
        fields.name,
        courseId,
        topicId,
        now,
        fields.description,
        fields.country,
        fields.language,
        now,
        organizationProtected ? 1 : 0,
      ],
    );
    return (await this.find(teamId))!;
  }

  async update(
    team: TeamRow,
    changes: Partial<TeamFields & { topic_id: string; organization_protected: boolean }>,
  ): Promise<TeamRow> {
    const columns = Object.keys(changes);
    if (columns.length) {
      await this.dataSource.query(
        `UPDATE teams_courseteam SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`,
        [...Object.values(changes), team.id],
      );
    }
    return (await this.find(team.team_id))!;
  }

  /**
   * CourseTeam.add_user, after the view's size check: the learner must be enrolled, on no other team
   * of the teamset, and in the team's protection bubble (else AddToIncompatibleTeamError, which
   * no view catches: a 500). The team row is locked, so concurrent adds cannot overfill it.
   */
  async addMember(
    team: TeamRow,
    user: ApiUser & { id: number; username: string },
    maxTeamSize: number,
  ): Promise<MemberRow> {
    const member = await this.dataSource.transaction('READ COMMITTED', async (m) => {
      await m.query('SELECT id FROM teams_courseteam WHERE id = ? FOR UPDATE', [team.id]);
      const [{ n }] = await m.query('SELECT COUNT(*) AS n FROM teams_courseteammembership WHERE team_id = ?', [
        team.id,
      ]);
      if (Number(n) >= maxTeamSize) throw new LmsHttpError(400, apiError('This team is already full.'));
      if (!(await this.access.isEnrolled(user.id, team.course_id))) {
        throw new LmsHttpError(
          400,
          apiError(`The user ${user.username} is not enrolled in the course associated with this team.`),
        );
      }
      if (await this.access.inTeamForTeamset(user.id, team.course_id, team.topic_id)) {
        throw new LmsHttpError(
          400,
          apiError(`The user ${user.username} is already a member of a team in this teamset.`),
        );
      }
      if (!(await this.access.protectionMatches(user, team)))
        throw new Error(
          `AddToIncompatibleTeamError: ${user.username} is outside team ${team.team_id}'s protection bubble`,
        );
      const now = new Date();
      await m.query(
        'INSERT INTO teams_courseteammembership (date_joined, last_activity_at, team_id, user_id) VALUES (?, ?, ?, ?)',
        [now, now, team.id, user.id],
      );
      await resetTeamSize(m, team.id);
      const [row] = await m.query(
        `SELECT ${MEMBER_COLUMNS} FROM teams_courseteammembership m JOIN auth_user u ON u.id = m.user_id WHERE m.team_id = ? AND m.user_id = ?`,
        [team.id, user.id],
      );
      return row as MemberRow;
    });
    await this.announce(EventType.TeamMembershipAdded, team, member, member.date_joined);
    return member;
  }

  /** CourseTeamMembership.delete, then the team's size is recomputed. */
  async removeMember(team: TeamRow, member: MemberRow): Promise<void> {
    await this.dataSource.transaction('READ COMMITTED', async (m) => {
      await m.query('DELETE FROM teams_courseteammembership WHERE team_id = ? AND user_id = ?', [
        team.id,
        member.user_id,
      ]);
      await resetTeamSize(m, team.id);
    });
    await this.announce(EventType.TeamMembershipRemoved, team, member, new Date());
  }

  async member(team: TeamRow, username: string): Promise<MemberRow | undefined> {
    const [row] = await this.dataSource.query(
      `SELECT ${MEMBER_COLUMNS} FROM teams_courseteammembership m JOIN auth_user u ON u.id = m.user_id WHERE m.team_id = ? AND u.username = ?`,
      [team.id, username],
    );
    return row;
  }

  /** CourseTeam.delete: its memberships go with it (each a removal: `remove_method` team_deleted). */
  async delete(team: TeamRow): Promise<void> {
    const members = (await this.members([team])).get(team.id)!;
    await this.dataSource.transaction('READ COMMITTED', async (m) => {
      await m.query('DELETE FROM teams_courseteammembership WHERE team_id = ?', [team.id]);
      await m.query('DELETE FROM teams_courseteam WHERE id = ?', [team.id]);
    });
    const at = new Date();
    for (const member of members) await this.announce(EventType.TeamMembershipRemoved, team, member, at);
  }

  /** CourseTeamSerializer (membership included) or CourseTeamSerializerWithoutMembership. */
  teamJson(req: Request, team: TeamRow, members: MemberRow[] | null, expand: Expand) {
    return {
      id: team.team_id,
      discussion_topic_id: team.discussion_topic_id,
      name: team.name,
      course_id: team.course_id,
      topic_id: team.topic_id,
      date_created: drfTime(team.date_created),
      description: team.description,
      country: team.country,
      language: team.language,
      last_activity_at: drfTime(team.last_activity_at),
      ...(members
        ? {
            membership: members.map((m) => ({
              user: userJson(req, m, expand),
              date_joined: drfTime(m.date_joined),
              last_activity_at: drfTime(m.last_activity_at),
            })),
          }
        : {}),
      organization_protected: !!team.organization_protected,
    };
  }

  /** MembershipSerializer: user and team collapsed to `{url, username}` / `{url, team_id}` unless expanded. */
  membershipJson(req: Request, team: TeamRow, member: MemberRow, expand: Expand) {
    return {
      user: userJson(req, member, expand),
      team: expand.has('team')
        ? this.teamJson(req, team, null, expand)
        : { url: `${base(req)}/api/team/v0/teams/${team.team_id}`, team_id: team.team_id },
      date_joined: drfTime(member.date_joined),
      last_activity_at: drfTime(member.last_activity_at),
    };
  }

  private async announce(
    type: EventType.TeamMembershipAdded | EventType.TeamMembershipRemoved,
    team: TeamRow,
    member: MemberRow,
    at: Date,
  ): Promise<void> {
    const data: TeamMembershipChangedData = {
      team_membership: {
        user: {
          id: member.user_id,
          is_active: !!member.is_active,
          pii: {
            username: member.username,
            email: member.email,
            name: `${member.first_name} ${member.last_name}`.trim(),
          },
        },
        course: { course_key: team.course_id, display_name: '', start: null, end: null },
        team: { team_id: team.team_id, name: team.name, teamset_id: team.topic_id },
        changed_at: toCeTime(new Date(at)),
      },
    };
    await this.events.teamMembershipChanged(type, data);
  }
}

/** Expanded users are accounts as anyone sees a private profile (no year of birth: parental consent, so private). */
function userJson(req: Request, member: MemberRow, expand: Expand) {
  const url = `${base(req)}/api/user/v1/accounts/${member.username}`;
  if (!expand.has('user')) return { url, username: member.username };
  const image = (size: number) => `${base(req)}/static/images/profiles/default_${size}.png`;
  return {
    url,
    username: member.username,
    account_privacy: 'private',
    profile_image: {
      has_image: false,
      image_url_full: image(500),
      image_url_large: image(120),
      image_url_medium: image(50),
      image_url_small: image(30),
    },
  };
}

function base(req: Request): string {
  return `${req.protocol}://${req.get('host')}`;
}

async function resetTeamSize(m: EntityManager, teamDbId: number): Promise<void> {
  await m.query(
    'UPDATE teams_courseteam SET team_size = (SELECT COUNT(*) FROM teams_courseteammembership WHERE team_id = ?) WHERE id = ?',
    [teamDbId, teamDbId],
  );
}

/** Django's slugify: ASCII only, lower case, runs of spaces and dashes to one dash. */
export function slugify(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .toLowerCase()
    .replace(/[^\w\s-]/g, '')
    .replace(/[-\s]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
}
