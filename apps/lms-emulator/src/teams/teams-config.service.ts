import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LmsHttpError } from '../lms-http.error';
import { TeamsConfig } from './teams-config';

/** Courses' `teams_configuration` advanced setting (edx-platform keeps it in the modulestore). */
@Injectable()
export class TeamsConfigService {
  constructor(private readonly dataSource: DataSource) {}

  /** The course's teams configuration, or null when the LMS does not know the course (no modulestore course). */
  async get(courseId: string): Promise<TeamsConfig | null> {
    const [row] = await this.dataSource.query(
      `SELECT s.course_id, t.teams_configuration FROM course_groups_coursecohortssettings s
       LEFT JOIN emulator_course_teams_configuration t ON t.course_id = s.course_id WHERE s.course_id = ?`,
      [courseId],
    );
    if (!row) return null;
    return new TeamsConfig(row.teams_configuration ? JSON.parse(row.teams_configuration) : {});
  }

  /** Sets it as Studio's advanced settings would: stored as given, cleaned when read. */
  async set(courseId: string, teamsConfiguration: unknown): Promise<TeamsConfig> {
    if (teamsConfiguration === null || typeof teamsConfiguration !== 'object' || Array.isArray(teamsConfiguration)) {
      throw new LmsHttpError(400, {
        teams_configuration: ['An object: {max_team_size?, topics: [{id, name, type?, max_team_size?}]}.'],
      });
    }
    await this.dataSource.query(
      `INSERT INTO emulator_course_teams_configuration (course_id, teams_configuration) VALUES (?, ?)
       ON DUPLICATE KEY UPDATE teams_configuration = VALUES(teams_configuration)`,
      [courseId, JSON.stringify(teamsConfiguration)],
    );
    return new TeamsConfig(teamsConfiguration);
  }
}
