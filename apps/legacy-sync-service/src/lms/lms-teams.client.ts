import { Injectable } from '@nestjs/common';
import { LmsApiClient } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';

export interface LmsTeam {
  id: string;
  name: string;
  course_id: string;
  topic_id: string;
}

/**
 * The LMS teams API v0 (edx-platform lms/djangoapps/teams/views.py). Its views authenticate with
 * BearerAuthentication (and sessions) only, not JwtAuthentication: so this client asks the LMS for an
 * opaque OAuth2 access token and sends `Authorization: Bearer`.
 */
@Injectable()
export class LmsTeamsClient {
  private readonly api: LmsApiClient;

  constructor(config: LegacySyncServiceConfig) {
    this.api = new LmsApiClient(config, { tokenType: 'bearer' });
  }

  getTeam(teamId: string): Promise<LmsTeam> {
    return this.api.call('GET', `/api/team/v0/teams/${encodeURIComponent(teamId)}`) as Promise<LmsTeam>;
  }

  /** A team in a teamset (`topic_id`); the LMS makes its `team_id` from the name. */
  createTeam(courseKey: string, teamsetId: string, name: string): Promise<LmsTeam> {
    return this.api.call('POST', '/api/team/v0/teams/', {
      course_id: courseKey,
      topic_id: teamsetId,
      name: name.slice(0, 255),
      description: `Mirrors a User Group (${name})`.slice(0, 300),
    }) as Promise<LmsTeam>;
  }

  /** The course's teamsets (`GET /api/team/v0/topics/?course_id=`, paginated); 404 for a course without teams. */
  async teamsets(courseKey: string): Promise<Array<{ id: string; name: string; type?: string }>> {
    const all: Array<{ id: string; name: string; type?: string }> = [];
    for (let page = 1; ; page++) {
      const res = await this.api.call<{
        next: string | null;
        results: Array<{ id: string; name: string; type?: string }>;
      }>('GET', `/api/team/v0/topics/?course_id=${encodeURIComponent(courseKey)}&page=${page}&page_size=100`);
      if (!res) return all;
      all.push(...res.results);
      if (!res.next) return all;
    }
  }

  /** The team of a teamset with this name, if there is one (teams may share a name; the first is taken). */
  async teamNamed(courseKey: string, teamsetId: string, name: string): Promise<LmsTeam | null> {
    for (let page = 1; ; page++) {
      const res = await this.api.call<{ next: string | null; results: LmsTeam[] }>(
        'GET',
        `/api/team/v0/teams/?course_id=${encodeURIComponent(courseKey)}&topic_id=${encodeURIComponent(teamsetId)}&page=${page}&page_size=100`,
      );
      const found = res?.results.find((t) => t.name === name);
      if (found) return found;
      if (!res?.next) return null;
    }
  }

  /** Staff only; deletes the team's memberships with it (204). */
  deleteTeam(teamId: string): Promise<unknown> {
    return this.api.call('DELETE', `/api/team/v0/teams/${encodeURIComponent(teamId)}`);
  }

  /** `{team_id, username}`; refused with 400 (team full, already on a team of the teamset, not enrolled) or 403 (instructor-managed). */
  addMember(teamId: string, username: string): Promise<unknown> {
    return this.api.call('POST', '/api/team/v0/team_membership/', { team_id: teamId, username });
  }

  /** 404 when the learner is not (or no longer) on the team. */
  removeMember(teamId: string, username: string): Promise<unknown> {
    return this.api.call(
      'DELETE',
      `/api/team/v0/team_membership/${encodeURIComponent(teamId)},${encodeURIComponent(username)}?admin=true`,
    );
  }

  /**
   * The memberships of one team, or of every team of a teamset, a page at a time: `{next, results}`,
   * each with `user` and `team` collapsed to references (`{username, url}`, `{team_id, url}`).
   */
  async *members(
    query: { teamId: string } | { courseKey: string; teamsetId: string },
  ): AsyncGenerator<{ username: string; teamId: string }> {
    const q =
      'teamId' in query
        ? `team_id=${encodeURIComponent(query.teamId)}`
        : `teamset_id=${encodeURIComponent(query.teamsetId)}&course_id=${encodeURIComponent(query.courseKey)}`;
    for (let page = 1; ; page++) {
      const res = await this.api.call<{
        next: string | null;
        results: Array<{ user: { username: string }; team: { team_id?: string; id?: string } }>;
      }>('GET', `/api/team/v0/team_membership/?${q}&page=${page}&page_size=100`);
      if (!res) return;
      for (const m of res.results) yield { username: m.user.username, teamId: (m.team.team_id ?? m.team.id)! };
      if (!res.next) return;
    }
  }
}
