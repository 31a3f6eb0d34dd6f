import { Body, Controller, Delete, Get, HttpCode, Logger, Post, Put, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { CohortsService } from '../cohorts/cohorts.service';
import { toCeTime } from '@groups-sync/contracts';
import { JwtIssuer } from '../auth/jwt-issuer';
import { CourseSettingsService } from '../cohorts/course-settings.service';
import { EnrollmentsService } from '../enrollments/enrollments.service';
import { EventFaults } from '../events/event-faults';
import { LmsEventsPublisher } from '../events/lms-events.publisher';
import { LmsErrorFilter, LmsHttpError } from '../lms-http.error';
import { TeamsConfigService } from '../teams/teams-config.service';

const USERNAME = /^[\w.@+-]{2,150}$/;

/** Test and demo helpers: not LMS endpoints, so they live under /emulator and need no token. */
@ApiTags('emulator: fixtures')
@UseFilters(LmsErrorFilter)
@Controller('emulator')
export class EmulatorController {
  private readonly logger = new Logger('LmsEvents');
  constructor(
    private readonly dataSource: DataSource,
    private readonly issuer: JwtIssuer,
    private readonly courses: CourseSettingsService,
    private readonly faults: EventFaults,
    private readonly events: LmsEventsPublisher,
    private readonly enrollments: EnrollmentsService,
    private readonly teamsConfigs: TeamsConfigService,
    private readonly cohorts: CohortsService,
  ) {}

  /** One user (`{username, email?, name?}`), or many at once (`{users: [...]}`); an existing username is kept as it is. */
  @Post('users')
  async createUser(@Body() body: Record<string, unknown>) {
    if (Array.isArray(body?.users)) {
      if (body.users.length > 20_000) throw new LmsHttpError(400, { users: ['At most 20000 users at a time.'] });
      const specs = body.users.map((u) => userSpec(u as Record<string, unknown>));
      for (let i = 0; i < specs.length; i += 1000) {
        const chunk = specs.slice(i, i + 1000);
        await this.dataSource.query(
          `INSERT IGNORE INTO auth_user (username, email, first_name, last_name, date_joined) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
          chunk.flatMap((u) => [u.username, u.email, u.first, u.last, new Date()]),
        );
      }
      const users: Array<{ id: number; username: string; email: string }> = [];
      for (let i = 0; i < specs.length; i += 1000) {
        users.push(
          ...(await this.dataSource.query('SELECT id, username, email FROM auth_user WHERE username IN (?)', [
            specs.slice(i, i + 1000).map((u) => u.username),
          ])),
        );
      }
      return { users };
    }
    const spec = userSpec(body);
    const existing = await this.dataSource.query('SELECT id, email FROM auth_user WHERE username = ?', [spec.username]);
    if (existing.length) return { id: existing[0].id, username: spec.username, email: existing[0].email };
    const result = await this.dataSource.query(
      'INSERT INTO auth_user (username, email, first_name, last_name, date_joined) VALUES (?, ?, ?, ?, ?)',
      [spec.username, spec.email, spec.first, spec.last, new Date()],
    );
    return { id: result.insertId, username: spec.username, email: spec.email };
  }

  /**
   * A user's access token, as the LMS would mint it after a login with the profile and user_id
   * scopes: `administrator` for global staff; HS256 unless `asymmetric_jwt`. `course_staff: [course
   * keys]` makes the user CourseStaffRole there (`student_courseaccessrole`, role `staff`), which the
   * roles API answers and the teams API checks; the token itself carries no course role, as the LMS's. `token_type: "bearer"` mints an opaque django-oauth-toolkit token for the user instead
   * (the only kind the teams API takes); it speaks for the account, so `administrator` makes the
   * account global staff (`auth_user.is_staff`).
   */
  @Post('tokens')
  async token(@Body() body: Record<string, unknown>) {
    const [user] = await this.dataSource.query(
      'SELECT id, username, email, is_staff FROM auth_user WHERE username = ?',
      [String(body?.username ?? '')],
    );
    if (!user) throw new LmsHttpError(400, { username: ['Unknown user.'] });
    const courseStaff = Array.isArray(body?.course_staff) ? (body.course_staff as unknown[]).map(String) : [];
    for (const courseId of courseStaff) {
      await this.dataSource.query(
        "INSERT IGNORE INTO student_courseaccessrole (org, course_id, role, user_id) VALUES (?, ?, 'staff', ?)",
        [courseOrg(courseId), courseId, user.id],
      );
    }
    if (body?.token_type === 'bearer') {
      if (body.administrator === true)
        await this.dataSource.query('UPDATE auth_user SET is_staff = 1 WHERE id = ?', [user.id]);
      const token = randomBytes(24).toString('hex');
      await this.dataSource.query(
        'INSERT INTO oauth2_provider_accesstoken (token, expires, client_id, user_id) VALUES (?, ?, ?, ?)',
        [token, new Date(Date.now() + 3600_000), 'login', user.id],
      );
      return { access_token: token, token_type: 'Bearer', expires_in: 3600 };
    }
    const administrator = body?.administrator === true || !!user.is_staff;
    const token = await this.issuer.sign(
      {
        preferred_username: user.username,
        user_id: user.id,
        email: user.email,
        administrator,
        scopes: ['user_id', 'email', 'profile'],
        grant_type: 'password',
      },
      3600,
      { asymmetric: !!body?.asymmetric_jwt },
    );
    return { access_token: token, token_type: 'JWT', expires_in: 3600 };
  }

  /**
   * Enrolls (or reactivates) a learner, `{username, course_id, mode?, cohorted?}`, or many at once
   * (`{enrollments: [...], cohorted?}`, up to 20,000), and makes their courses known. A new course
   * is cohorted unless `cohorted: false`: edx-platform's default is not cohorted, but tests and
   * demos nearly always want cohorts. A course known already keeps its settings. One enrollment is
   * announced (`is_active: false` unenrolls, another mode on an active one changes it: see
   * EnrollmentsService); the bulk form is for seeding and announces nothing.
   */
  @Post('enrollments')
  async enroll(@Body() body: Record<string, unknown>) {
    const cohorted = cohortedFlag(body);
    if (Array.isArray(body?.enrollments)) {
      if (body.enrollments.length > 20_000)
        throw new LmsHttpError(400, { enrollments: ['At most 20000 enrollments at a time.'] });
      const specs = body.enrollments.map((e) => enrollmentSpec(e as Record<string, unknown>));
      const ids = new Map<string, number>();
      for (let i = 0; i < specs.length; i += 1000) {
        const rows = await this.dataSource.query('SELECT id, username FROM auth_user WHERE username IN (?)', [
          specs.slice(i, i + 1000).map((e) => e.username),
        ]);
        for (const u of rows as Array<{ id: number; username: string }>) ids.set(u.username.toLowerCase(), u.id);
      }
      const unknown = [...new Set(specs.filter((e) => !ids.has(e.username.toLowerCase())).map((e) => e.username))];
      if (unknown.length)
        throw new LmsHttpError(400, {
          username: [`Unknown users: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', ...' : ''}`],
        });
      await this.courses.ensure(
        specs.map((e) => e.courseId),
        cohorted,
      );
      for (let i = 0; i < specs.length; i += 1000) {
        const chunk = specs.slice(i, i + 1000);
        await this.dataSource.query(
          `INSERT INTO student_courseenrollment (course_id, created, is_active, mode, user_id) VALUES ${chunk.map(() => '(?, ?, 1, ?, ?)').join(', ')}
           ON DUPLICATE KEY UPDATE is_active = 1, mode = VALUES(mode)`,
          chunk.flatMap((e) => [e.courseId, new Date(), e.mode, ids.get(e.username.toLowerCase())]),
        );
      }
      return {
        enrollments: specs.map((e) => ({
          user_id: ids.get(e.username.toLowerCase()),
          course_id: e.courseId,
          mode: e.mode,
          is_active: true,
        })),
      };
    }
    // One enrollment: written and announced as edx-platform's enroll() or update_enrollment() (EnrollmentsService).
    const spec = enrollmentSpec(body);
    const active = body.is_active !== false;
    const [user] = await this.dataSource.query('SELECT username FROM auth_user WHERE username = ?', [spec.username]);
    if (!user) throw new LmsHttpError(400, { username: ['Unknown user.'] });
    await this.courses.ensure([spec.courseId], cohorted);
    return this.enrollments.write(user.username, spec.courseId, spec.mode, active);
  }

  /**
   * Makes a course known without enrolling anyone (`{course_id, cohorted?, teams_configuration?}`,
   * cohorted by default as above); idempotent. `teams_configuration` is the course's advanced
   * setting (`{max_team_size?, topics: [{id, name, description?, type?, max_team_size?}]}`), set
   * whole each time it is given, answered cleaned as edx-platform's TeamsConfig reads it.
   */
  @Post('courses')
  async course(@Body() body: Record<string, unknown>) {
    const courseId = courseIdOf(body);
    await this.courses.ensure([courseId], cohortedFlag(body));
    const teams =
      body.teams_configuration === undefined
        ? {}
        : { teams_configuration: (await this.teamsConfigs.set(courseId, body.teams_configuration)).cleanedData() };
    return { course_id: courseId, is_cohorted: (await this.courses.get(courseId)).is_cohorted, ...teams };
  }

  /**
   * Studio reruns a course (`{source_course_id, course_id, state?}`), as its rerun task leaves
   * edx-platform's MySQL (cms/djangoapps/contentstore/tasks.py `rerun_course`): the content is cloned
   * in the modulestore, so the new run's cohort settings (`is_cohorted`) and its automatic (random)
   * cohorts come from the course's cohort_config the first time they are read
   * (course_groups/cohorts.py `migrate_cohort_settings`), empty; manual cohorts, memberships, course
   * modes and teams are not copied; the teams configuration (an advanced setting) is. Then the
   * `course_action_state_coursererunstate` row: `succeeded` unless `state` says otherwise.
   */
  @Post('reruns')
  async rerun(@Body() body: Record<string, unknown>) {
    const source = String(body?.source_course_id ?? '');
    const courseId = courseIdOf(body);
    const state = body?.state === undefined ? 'succeeded' : String(body.state);
    if (!['in_progress', 'succeeded', 'failed'].includes(state))
      throw new LmsHttpError(400, { state: ['One of in_progress, succeeded, failed.'] });
    const settings = await this.courses.get(source).catch(() => null);
    if (!settings) throw new LmsHttpError(400, { source_course_id: [`Unknown course ${source}.`] });
    if (state === 'succeeded') {
      await this.courses.ensure([courseId], settings.is_cohorted);
      const random: Array<{ name: string }> = await this.dataSource.query(
        `SELECT g.name FROM course_groups_courseusergroup g JOIN course_groups_coursecohort c ON c.course_user_group_id = g.id
         WHERE g.course_id = ? AND c.assignment_type = 'random'`,
        [source],
      );
      for (const { name } of random) {
        const [has] = await this.dataSource.query(
          "SELECT id FROM course_groups_courseusergroup WHERE course_id = ? AND name = ? AND group_type = 'cohort'",
          [courseId, name],
        );
        if (!has) await this.cohorts.create(courseId, name, 'random');
      }
      const [teams] = await this.dataSource.query(
        'SELECT teams_configuration FROM emulator_course_teams_configuration WHERE course_id = ?',
        [source],
      );
      if (teams) await this.teamsConfigs.set(courseId, JSON.parse(teams.teams_configuration));
    }
    const at = new Date();
    await this.dataSource.query(
      `INSERT INTO course_action_state_coursererunstate
         (created_time, updated_time, course_key, action, state, should_display, message, source_course_key, display_name)
       VALUES (?, ?, ?, 'rerun', ?, 1, '', ?, '')
       ON DUPLICATE KEY UPDATE state = VALUES(state), updated_time = VALUES(updated_time), source_course_key = VALUES(source_course_key)`,
      [at, at, courseId, state, source],
    );
    return { course_id: courseId, source_course_id: source, state, is_cohorted: settings.is_cohorted };
  }

  /**
   * A learner logs in (`{username}`): `auth_user.last_login` becomes now, then SESSION_LOGIN_COMPLETED
   * is sent, as edx-platform's login view does after `django_login()`.
   */
  @Post('logins')
  async login(@Body() body: Record<string, unknown>) {
    const [user] = await this.dataSource.query(
      'SELECT id, username, email, first_name, last_name, is_active FROM auth_user WHERE username = ?',
      [String(body?.username ?? '')],
    );
    if (!user) throw new LmsHttpError(400, { username: ['Unknown user.'] });
    const at = new Date();
    await this.dataSource.query('UPDATE auth_user SET last_login = ? WHERE id = ?', [at, user.id]);
    await this.events.loginCompleted({
      user: {
        id: user.id,
        is_active: !!user.is_active,
        pii: { username: user.username, email: user.email, name: `${user.first_name} ${user.last_name}`.trim() },
      },
    });
    return { user_id: user.id, username: user.username, last_login: at.toISOString() };
  }

  /**
   * What dynamic groups select on, for one learner: `{username, country?, language?, last_login?,
   * is_staff?, grades?: {course_id: percent 0..100}}`, written to edx-platform's tables (profile,
   * `pref-lang` preference, auth_user, persisted course grades). Fields left out are left as they are.
   * A grade that is new or different is announced (PERSISTENT_GRADE_SUMMARY_CHANGED); setting
   * `last_login` is not a login (`POST /emulator/logins` is) and announces nothing.
   */
  @Put('learner-data')
  async learnerData(@Body() body: Record<string, unknown>) {
    const [user] = await this.dataSource.query('SELECT id, username FROM auth_user WHERE username = ?', [
      String(body?.username ?? ''),
    ]);
    if (!user) throw new LmsHttpError(400, { username: ['Unknown user.'] });
    if (body.country !== undefined) {
      if (body.country !== null && !/^[A-Z]{2}$/.test(String(body.country)))
        throw new LmsHttpError(400, { country: ['An ISO 3166-1 alpha-2 code, or null.'] });
      await this.dataSource.query(
        'INSERT INTO auth_userprofile (user_id, country) VALUES (?, ?) ON DUPLICATE KEY UPDATE country = VALUES(country)',
        [user.id, body.country],
      );
    }
    if (body.language !== undefined) {
      if (body.language === null)
        await this.dataSource.query("DELETE FROM user_api_userpreference WHERE user_id = ? AND `key` = 'pref-lang'", [
          user.id,
        ]);
      else
        await this.dataSource.query(
          "INSERT INTO user_api_userpreference (user_id, `key`, value) VALUES (?, 'pref-lang', ?) ON DUPLICATE KEY UPDATE value = VALUES(value)",
          [user.id, String(body.language)],
        );
    }
    if (body.last_login !== undefined) {
      const at = body.last_login === null ? null : new Date(String(body.last_login));
      if (at && Number.isNaN(at.getTime())) throw new LmsHttpError(400, { last_login: ['An ISO 8601 time, or null.'] });
      await this.dataSource.query('UPDATE auth_user SET last_login = ? WHERE id = ?', [at, user.id]);
    }
    if (body.is_staff !== undefined)
      await this.dataSource.query('UPDATE auth_user SET is_staff = ? WHERE id = ?', [
        body.is_staff === true ? 1 : 0,
        user.id,
      ]);
    for (const [courseId, percent] of Object.entries((body.grades ?? {}) as Record<string, unknown>)) {
      if (typeof percent !== 'number' || percent < 0 || percent > 100)
        throw new LmsHttpError(400, { grades: ['Percentages from 0 to 100.'] });
      const [before] = await this.dataSource.query(
        'SELECT percent_grade FROM grades_persistentcoursegrade WHERE user_id = ? AND course_id = ?',
        [user.id, courseId],
      );
      // PersistentCourseGrade.update_or_create: passed_timestamp is set the first time the learner
      // passes (the default grading policy's cutoff, Pass at 50 %) and kept after.
      const passed = percent / 100 >= PASS_CUTOFF;
      await this.dataSource.query(
        `INSERT INTO grades_persistentcoursegrade (user_id, course_id, percent_grade, letter_grade, passed_timestamp, course_edited_timestamp)
         VALUES (?, ?, ?, ?, IF(?, CURRENT_TIMESTAMP(6), NULL), CURRENT_TIMESTAMP(6))
         ON DUPLICATE KEY UPDATE percent_grade = VALUES(percent_grade), letter_grade = VALUES(letter_grade), modified = CURRENT_TIMESTAMP(6),
           passed_timestamp = COALESCE(passed_timestamp, VALUES(passed_timestamp))`,
        [user.id, courseId, percent / 100, passed ? 'Pass' : '', passed ? 1 : 0],
      );
      if (before && Number(before.percent_grade) === percent / 100) continue;
      const [grade] = await this.dataSource.query(
        'SELECT * FROM grades_persistentcoursegrade WHERE user_id = ? AND course_id = ?',
        [user.id, courseId],
      );
      // openedx-events cannot serialize a None where PersistentCourseGradeData wants a datetime: the
      // LMS's send fails, is logged, and the grade of a learner who never passed reaches no bus.
      if (!grade.passed_timestamp || !grade.course_edited_timestamp) {
        this.logger.warn(
          `PERSISTENT_GRADE_SUMMARY_CHANGED of user ${user.id} in ${courseId} not sent: passed_timestamp is None (as the LMS, which cannot serialize it)`,
        );
        continue;
      }
      await this.events.gradeChanged(
        {
          grade: {
            user_id: user.id,
            course: { course_key: courseId, display_name: '', start: null, end: null },
            course_edited_timestamp: ceTimeOrEmpty(grade.course_edited_timestamp),
            course_version: grade.course_version,
            grading_policy_hash: grade.grading_policy_hash,
            percent_grade: Number(grade.percent_grade),
            letter_grade: grade.letter_grade,
            passed_timestamp: ceTimeOrEmpty(grade.passed_timestamp),
          },
        },
        user.username,
      );
    }
    return { username: body.username, user_id: user.id };
  }

  /** Event faults (see EventFaults): PUT replaces them all, DELETE clears them. */
  @Get('faults')
  faultSettings() {
    return this.faults.get();
  }

  @Put('faults')
  setFaults(@Body() body: Record<string, unknown>) {
    return this.faults.set(body);
  }

  @Delete('faults')
  @HttpCode(204)
  clearFaults(): void {
    this.faults.clear();
  }
}

/** The schema's timestamps are plain strings: an unset one (a grade not passed) is sent empty. */
/** The default grading policy's GRADE_CUTOFFS: {"Pass": 0.5}. */
const PASS_CUTOFF = 0.5;

function ceTimeOrEmpty(value: Date | null): string {
  return value ? toCeTime(new Date(value)) : '';
}

/** CourseAccessRole.org: the course key's organization. */
function courseOrg(courseId: string): string {
  return /^course-v1:([^+]+)\+/.exec(courseId)?.[1] ?? courseId.split('/')[0];
}

function userSpec(body: Record<string, unknown>) {
  const username = String(body?.username ?? '');
  if (!USERNAME.test(username)) throw new LmsHttpError(400, { username: ['Enter a valid username.'] });
  const email = String(body?.email ?? `${username}@example.com`);
  const [first, ...rest] = String(body?.name ?? username).split(' ');
  return { username, email, first, last: rest.join(' ') };
}

function courseIdOf(body: Record<string, unknown>): string {
  const courseId = typeof body?.course_id === 'string' ? body.course_id : '';
  if (!courseId) throw new LmsHttpError(400, { course_id: ['This field is required.'] });
  if (courseId.length > 255)
    throw new LmsHttpError(400, { course_id: ['Ensure this field has no more than 255 characters.'] });
  return courseId;
}

function enrollmentSpec(body: Record<string, unknown>) {
  return { username: String(body?.username ?? ''), courseId: courseIdOf(body), mode: String(body?.mode ?? 'audit') };
}

function cohortedFlag(body: Record<string, unknown>): boolean {
  if (body?.cohorted !== undefined && typeof body.cohorted !== 'boolean')
    throw new LmsHttpError(400, { cohorted: ['Must be a valid boolean.'] });
  return body?.cohorted !== false;
}
