import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiUser } from '../auth/drf-authentication';
import { TeamsConfig } from './teams-config';

export interface TeamRow {
  id: number;
  team_id: string;
  discussion_topic_id: string;
  name: string;
  course_id: string;
  topic_id: string;
  date_created: Date;
  description: string;
  country: string;
  language: string;
  last_activity_at: Date;
  team_size: number;
  organization_protected: number;
}

/** Learners in the MASTERS track are "organization protected" (api.ORGANIZATION_PROTECTED_MODES). */
const PROTECTED_MODES = ['masters'];

/**
 * Who may see and change what, as lms/djangoapps/teams/api.py decides it. Discussion privileges
 * (forum moderators, community TAs) are not emulated: nobody has them.
 */
@Injectable()
export class TeamsAccess {
  constructor(private readonly dataSource: DataSource) {}

  /** has_course_staff_privileges: global staff, or the course's staff or instructor role. */
  async isCourseStaff(user: ApiUser, courseId: string): Promise<boolean> {
    if (user.staff) return true;
    if (user.id === null) return false;
    const rows = await this.dataSource.query(
      "SELECT 1 FROM student_courseaccessrole WHERE user_id = ? AND course_id = ? AND role IN ('staff', 'instructor') LIMIT 1",
      [user.id, courseId],
    );
    return rows.length > 0;
  }

  async enrollment(userId: number | null, courseId: string): Promise<{ mode: string; is_active: boolean } | undefined> {
    if (userId === null) return undefined;
    const [row] = await this.dataSource.query(
      'SELECT mode, is_active FROM student_courseenrollment WHERE user_id = ? AND course_id = ?',
      [userId, courseId],
    );
    return row ? { mode: row.mode, is_active: !!row.is_active } : undefined;
  }

  /** CourseEnrollment.is_enrolled: an enrollment that is active. */
  async isEnrolled(userId: number | null, courseId: string): Promise<boolean> {
    return (await this.enrollment(userId, courseId))?.is_active === true;
  }

  /** has_team_api_access: course staff, else enrolled and (when a username is named) asking about oneself. */
  async hasTeamApiAccess(user: ApiUser, courseId: string, accessUsername?: string): Promise<boolean> {
    if (await this.isCourseStaff(user, courseId)) return true;
    if (!accessUsername || accessUsername === user.username) return this.isEnrolled(user.id, courseId);
    return false;
  }

  /** user_organization_protection_status; like edx-platform it fails (500) for a learner not enrolled. */
  async protectionStatus(user: ApiUser, courseId: string): Promise<'exempt' | 'protected' | 'unprotected'> {
    if (await this.isCourseStaff(user, courseId)) return 'exempt';
    const enrollment = await this.enrollment(user.id, courseId);
    if (!enrollment?.is_active)
      throw new Error(
        `ValueError: Cannot check the org_protection status on a student [${user.id}] not enrolled in course [${courseId}]`,
      );
    return PROTECTED_MODES.includes(enrollment.mode) ? 'protected' : 'unprotected';
  }

  /** user_protection_status_matches_team. */
  async protectionMatches(user: ApiUser, team: TeamRow): Promise<boolean> {
    const status = await this.protectionStatus(user, team.course_id);
    return status === 'exempt' || !!team.organization_protected === (status === 'protected');
  }

  async isOnTeam(userId: number | null, team: TeamRow): Promise<boolean> {
    if (userId === null) return false;
    return (
      (
        await this.dataSource.query('SELECT 1 FROM teams_courseteammembership WHERE user_id = ? AND team_id = ?', [
          userId,
          team.id,
        ])
      ).length > 0
    );
  }

  /** CourseTeamMembership.user_in_team_for_teamset. */
  async inTeamForTeamset(userId: number | null, courseId: string, teamsetId: string): Promise<boolean> {
    if (userId === null) return false;
    const rows = await this.dataSource.query(
      `SELECT 1 FROM teams_courseteammembership m JOIN teams_courseteam t ON t.id = m.team_id
       WHERE m.user_id = ? AND t.course_id = ? AND t.topic_id = ? LIMIT 1`,
      [userId, courseId, teamsetId],
    );
    return rows.length > 0;
  }

  /** has_specific_team_access: course staff, or in the team's protection bubble and (on the team or it is not private). */
  async hasSpecificTeamAccess(user: ApiUser, team: TeamRow, config: TeamsConfig): Promise<boolean> {
    if (await this.isCourseStaff(user, team.course_id)) return true;
    return (
      (await this.protectionMatches(user, team)) &&
      ((await this.isOnTeam(user.id, team)) || !config.isPrivateManaged(team.topic_id))
    );
  }

  /** has_specific_teamset_access: a private_managed teamset exists only for staff and its members. */
  async hasSpecificTeamsetAccess(
    user: ApiUser,
    courseId: string,
    teamsetId: string,
    config: TeamsConfig,
  ): Promise<boolean> {
    if (await this.isCourseStaff(user, courseId)) return true;
    return !config.isPrivateManaged(teamsetId) || this.inTeamForTeamset(user.id, courseId, teamsetId);
  }

  /** can_user_modify_team / can_user_create_team_in_topic: instructor-managed teamsets are for course staff. */
  async canManageTeamset(user: ApiUser, courseId: string, teamsetId: string, config: TeamsConfig): Promise<boolean> {
    return !config.isInstructorManaged(teamsetId) || this.isCourseStaff(user, courseId);
  }
}
