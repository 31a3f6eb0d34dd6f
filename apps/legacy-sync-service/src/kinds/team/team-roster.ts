import { Injectable } from '@nestjs/common';
import { Pool } from 'mysql2/promise';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LmsTeamsClient } from '../../lms/lms-teams.client';
import { LmsMember } from '../legacy-kind.port';
import { LmsDatabase } from '../../lms/lms-database';

/** A team's (or a whole teamset's) learners as the LMS holds them, by lower-case username; null when the LMS has no such team or teamset. */
export interface TeamRosterOfLink {
  groupId: string;
  members: Map<string, LmsMember> | null;
}

/** Reads team memberships from the LMS, through its database (edx-platform's teams_* tables) or the teams API. */
@Injectable()
export class TeamRoster {
  private readonly pool: Pool | null;

  constructor(
    private readonly lms: LmsTeamsClient,
    database: LmsDatabase,
  ) {
    this.pool = database.pool;
  }

  /** `links`: team and teamset links (legacy_id: the team's team_id, or the teamset's id). */
  async read(links: LegacyLink[]): Promise<Map<string, TeamRosterOfLink>> {
    const out = new Map<string, TeamRosterOfLink>();
    for (const link of links) {
      const members = this.pool ? await this.readDatabase(this.pool, link) : await this.readRest(link);
      out.set(link.groupId, { groupId: link.groupId, members });
    }
    return out;
  }

  /** teams_courseteam (team_id unique; course_id, topic_id indexed), teams_courseteammembership, auth_user. */
  private async readDatabase(pool: Pool, link: LegacyLink): Promise<Map<string, LmsMember> | null> {
    const teamWhere = link.legacyType === 'team' ? 't.team_id = ?' : 't.course_id = ? AND t.topic_id = ?';
    const args = link.legacyType === 'team' ? [link.legacyId] : [link.courseKey, link.legacyId];
    if (link.legacyType === 'team') {
      const [[team]] = (await pool.query(
        `SELECT 1 AS found FROM teams_courseteam t WHERE ${teamWhere}`,
        args,
      )) as unknown as [Array<{ found: number }>];
      if (!team) return null;
    }
    const [rows] = (await pool.query(
      `SELECT u.id AS user_id, u.username FROM teams_courseteammembership m JOIN teams_courseteam t ON t.id = m.team_id JOIN auth_user u ON u.id = m.user_id WHERE ${teamWhere}`,
      args,
    )) as unknown as [Array<{ user_id: number; username: string }>];
    return new Map(rows.map((r) => [r.username.toLowerCase(), { userId: Number(r.user_id), username: r.username }]));
  }

  private async readRest(link: LegacyLink): Promise<Map<string, LmsMember> | null> {
    const members = new Map<string, LmsMember>();
    try {
      const query =
        link.legacyType === 'team'
          ? { teamId: link.legacyId! }
          : { courseKey: link.courseKey, teamsetId: link.legacyId! };
      for await (const m of this.lms.members(query))
        members.set(m.username.toLowerCase(), { userId: null, username: m.username });
    } catch (error) {
      if (!(error instanceof LmsRejectedError) || error.status !== 404) throw error;
      return null;
    }
    return members;
  }
}
