import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventType } from '@groups-sync/contracts';
import { LmsEventsPublisher } from '../events/lms-events.publisher';
import { LmsHttpError } from '../lms-http.error';

interface UserRow {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: number;
}
interface EnrollmentRow {
  mode: string;
  is_active: number;
  created: Date;
}
type EnrollmentEvent =
  EventType.CourseEnrollmentCreated | EventType.CourseEnrollmentChanged | EventType.CourseUnenrollmentCompleted;

export interface EnrollmentState {
  user_id: number;
  course_id: string;
  mode: string;
  is_active: boolean;
}

/**
 * One learner's enrollment, written and announced as CourseEnrollment does it
 * (common/djangoapps/student/models/course_enrollment.py):
 * - `update_enrollment(mode, is_active)` saves and sends COURSE_ENROLLMENT_CHANGED when the mode or
 *   the activation changes, then COURSE_UNENROLLMENT_COMPLETED when it was deactivated;
 * - `enroll()` is get_or_create (a new row starts inactive, in audit), update_enrollment(is_active=True,
 *   mode), then COURSE_ENROLLMENT_CREATED: CHANGED then CREATED for a new or re-activated enrollment;
 * - `unenroll()` is update_enrollment(is_active=False); `change_mode()` is update_enrollment(mode).
 * Every event carries the enrollment's state after the change.
 */
@Injectable()
export class EnrollmentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: LmsEventsPublisher,
  ) {}

  /**
   * The single-enrollment fixture (POST /emulator/enrollments): enroll() for a new or inactive
   * enrollment that should be active; update_enrollment() otherwise (a mode change, a
   * deactivation), so re-posting an active enrollment changes its mode without a CREATED.
   */
  async write(username: string, courseId: string, mode: string, active: boolean): Promise<EnrollmentState> {
    const user = await this.user(username);
    const before = await this.row(user.id, courseId);
    if (active && !before?.is_active) return this.enroll(user, courseId, mode);
    return this.update(user, courseId, { mode, isActive: active });
  }

  /** CourseEnrollment.unenroll(); 400 when there is no enrollment (edx-platform only logs it). */
  async unenroll(username: string, courseId: string): Promise<EnrollmentState> {
    const user = await this.user(username);
    if (!(await this.row(user.id, courseId)))
      throw new LmsHttpError(400, { course_id: [`${username} is not enrolled in ${courseId}.`] });
    return this.update(user, courseId, { isActive: false });
  }

  /** CourseEnrollment.change_mode(): the mode changes, the activation does not. */
  async changeMode(username: string, courseId: string, mode: string): Promise<EnrollmentState> {
    const user = await this.user(username);
    if (!(await this.row(user.id, courseId)))
      throw new LmsHttpError(400, { course_id: [`${username} is not enrolled in ${courseId}.`] });
    return this.update(user, courseId, { mode });
  }

  private async enroll(user: UserRow, courseId: string, mode: string): Promise<EnrollmentState> {
    await this.dataSource.query(
      `INSERT INTO student_courseenrollment (course_id, created, is_active, mode, user_id) VALUES (?, ?, 0, 'audit', ?)
       ON DUPLICATE KEY UPDATE id = id`,
      [courseId, new Date(), user.id],
    );
    const state = await this.update(user, courseId, { mode, isActive: true });
    await this.announce([EventType.CourseEnrollmentCreated], user, courseId);
    return state;
  }

  private async update(
    user: UserRow,
    courseId: string,
    change: { mode?: string; isActive?: boolean },
  ): Promise<EnrollmentState> {
    let before = await this.row(user.id, courseId);
    if (!before) {
      // get_or_create_enrollment: a row the learner never had starts inactive, in audit, and says nothing.
      await this.dataSource.query(
        `INSERT INTO student_courseenrollment (course_id, created, is_active, mode, user_id) VALUES (?, ?, 0, 'audit', ?)`,
        [courseId, new Date(), user.id],
      );
      before = (await this.row(user.id, courseId))!;
    }
    const activationChanged = change.isActive !== undefined && !!before.is_active !== change.isActive;
    const modeChanged = change.mode !== undefined && before.mode !== change.mode;
    const mode = change.mode ?? before.mode;
    const isActive = change.isActive ?? !!before.is_active;
    if (activationChanged || modeChanged) {
      await this.dataSource.query(
        'UPDATE student_courseenrollment SET mode = ?, is_active = ? WHERE user_id = ? AND course_id = ?',
        [mode, isActive ? 1 : 0, user.id, courseId],
      );
      await this.announce(
        [
          EventType.CourseEnrollmentChanged,
          ...(activationChanged && !isActive ? [EventType.CourseUnenrollmentCompleted as const] : []),
        ],
        user,
        courseId,
      );
    }
    return { user_id: user.id, course_id: courseId, mode, is_active: isActive };
  }

  private async announce(types: EnrollmentEvent[], user: UserRow, courseId: string): Promise<void> {
    const row = (await this.row(user.id, courseId))!;
    await this.events.enrollmentChanged(types, {
      enrollment: {
        user: {
          id: user.id,
          is_active: !!user.is_active,
          pii: { username: user.username, email: user.email, name: `${user.first_name} ${user.last_name}`.trim() },
        },
        course: { course_key: courseId, display_name: '', start: null, end: null },
        mode: row.mode,
        is_active: !!row.is_active,
        creation_date: new Date(row.created).toISOString(),
        created_by: null,
      },
    });
  }

  private async user(username: string): Promise<UserRow> {
    const [user] = await this.dataSource.query(
      'SELECT id, username, email, first_name, last_name, is_active FROM auth_user WHERE username = ?',
      [username],
    );
    if (!user) throw new LmsHttpError(400, { username: ['Unknown user.'] });
    return user;
  }

  private async row(userId: number, courseId: string): Promise<EnrollmentRow | undefined> {
    const [row] = await this.dataSource.query(
      'SELECT mode, is_active, created FROM student_courseenrollment WHERE user_id = ? AND course_id = ?',
      [userId, courseId],
    );
    return row;
  }
}
