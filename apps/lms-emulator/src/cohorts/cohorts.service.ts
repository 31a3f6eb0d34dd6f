import { Injectable } from '@nestjs/common';
import { CohortMembershipChangedData } from '@groups-sync/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { EventFaults } from '../events/event-faults';
import { LmsEventsPublisher } from '../events/lms-events.publisher';
import { lmsError } from '../lms-http.error';

export interface CohortRow {
  id: number;
  name: string;
  course_id: string;
  assignment_type: string;
}
interface UserRow {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: number;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** edx-platform's cohort rules (openedx/core/djangoapps/course_groups), on edx-platform's tables. */
@Injectable()
export class CohortsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: LmsEventsPublisher,
    private readonly faults: EventFaults,
  ) {}

  async list(courseId: string): Promise<CohortRow[]> {
    return this.dataSource.query(
      `SELECT g.id, g.name, g.course_id, c.assignment_type FROM course_groups_courseusergroup g
       JOIN course_groups_coursecohort c ON c.course_user_group_id = g.id
       WHERE g.course_id = ? AND g.group_type = 'cohort' ORDER BY g.id`,
      [courseId],
    );
  }

  async get(courseId: string, id: number, manager: EntityManager = this.dataSource.manager): Promise<CohortRow> {
    const [row] = await manager.query(
      `SELECT g.id, g.name, g.course_id, c.assignment_type FROM course_groups_courseusergroup g
       JOIN course_groups_coursecohort c ON c.course_user_group_id = g.id
       WHERE g.course_id = ? AND g.id = ? AND g.group_type = 'cohort'`,
      [courseId, id],
    );
    if (!row) throw lmsError(404, 'cohort-not-found', `Cohort (ID ${id}) not found for ${courseId}`);
    return row;
  }

  /** user_count counts only learners with an active enrollment, as edx-platform does. */
  async representation(cohort: CohortRow) {
    const [{ n }] = await this.dataSource.query(
      `SELECT COUNT(*) AS n FROM course_groups_cohortmembership m JOIN student_courseenrollment e
       ON e.user_id = m.user_id AND e.course_id = m.course_id AND e.is_active = 1 WHERE m.course_user_group_id = ?`,
      [cohort.id],
    );
    return {
      name: cohort.name,
      id: cohort.id,
      user_count: Number(n),
      assignment_type: cohort.assignment_type,
      user_partition_id: null,
      group_id: null,
    };
  }

  async create(courseId: string, name: string, assignmentType: string): Promise<CohortRow> {
    return this.dataSource.transaction(async (m) => {
      const existing = await m.query(
        'SELECT id FROM course_groups_courseusergroup WHERE course_id = ? AND name = ? AND group_type = ?',
        [courseId, name, 'cohort'],
      );
      // add_cohort raises ValueError here and the v1 view does not catch it: the real LMS answers 500.
      if (existing.length)
        throw new Error(`ValueError: You cannot create two cohorts with the same name (${name} in ${courseId})`);
      const result = await m.query(
        'INSERT INTO course_groups_courseusergroup (name, course_id, group_type) VALUES (?, ?, ?)',
        [name, courseId, 'cohort'],
      );
      await m.query('INSERT INTO course_groups_coursecohort (assignment_type, course_user_group_id) VALUES (?, ?)', [
        assignmentType,
        result.insertId,
      ]);
      return { id: result.insertId, name, course_id: courseId, assignment_type: assignmentType };
    });
  }

  async update(courseId: string, id: number, name?: string, assignmentType?: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const cohort = await this.get(courseId, id, m);
      if (name !== undefined && name !== cohort.name) {
        const clash = await m.query(
          'SELECT id FROM course_groups_courseusergroup WHERE course_id = ? AND name = ? AND id <> ?',
          [courseId, name, id],
        );
        if (clash.length) throw lmsError(400, 'cohort-name-exists', 'A cohort with the same name already exists.');
        await m.query('UPDATE course_groups_courseusergroup SET name = ? WHERE id = ?', [name, id]);
      }
      if (assignmentType !== undefined)
        await m.query('UPDATE course_groups_coursecohort SET assignment_type = ? WHERE course_user_group_id = ?', [
          assignmentType,
          id,
        ]);
    });
  }

  async users(courseId: string, id: number, page: number, pageSize: number) {
    await this.get(courseId, id);
    const [{ n }] = await this.dataSource.query(
      'SELECT COUNT(*) AS n FROM course_groups_cohortmembership WHERE course_user_group_id = ?',
      [id],
    );
    const rows: UserRow[] = await this.dataSource.query(
      `SELECT u.username, u.email, u.first_name, u.last_name FROM course_groups_cohortmembership m JOIN auth_user u ON u.id = m.user_id
       WHERE m.course_user_group_id = ? ORDER BY u.id LIMIT ? OFFSET ?`,
      [id, pageSize, (page - 1) * pageSize],
    );
    return { count: Number(n), rows };
  }

  /**
   * cohorts.add_user_to_cohort for each identifier, answering like the v1 view: added, changed (with
   * previous_cohort), present, unknown, preassigned (valid email of no user), invalid.
   */
  async addUsers(courseId: string, id: number, identifiers: string[]) {
    const cohort = await this.get(courseId, id);
    const out = {
      success: true,
      added: [] as object[],
      changed: [] as object[],
      present: [] as string[],
      unknown: [] as string[],
      preassigned: [] as string[],
      invalid: [] as string[],
    };
    const wanted = [...new Set(identifiers.map((raw) => String(raw).trim()).filter(Boolean))];
    // One lookup for the whole list (edx-platform asks per identifier; the answer is the same).
    const users: UserRow[] = wanted.length
      ? await this.dataSource.query(
          'SELECT * FROM auth_user WHERE username IN (?) UNION SELECT * FROM auth_user WHERE email IN (?)',
          [wanted, wanted],
        )
      : [];
    const byName = new Map(users.map((u) => [u.username.toLowerCase(), u]));
    const byEmail = new Map(users.map((u) => [u.email.toLowerCase(), u]));
    for (const raw of identifiers) {
      const ident = String(raw).trim();
      if (!ident) continue;
      const user = byName.get(ident.toLowerCase()) ?? byEmail.get(ident.toLowerCase());
      if (!user) {
        if (ident.includes('@')) (EMAIL.test(ident) ? out.preassigned : out.invalid).push(ident);
        else out.unknown.push(ident);
        continue;
      }
      const previous = await this.assign(cohort, user);
      if (previous === 'present') out.present.push(ident);
      else if (previous) out.changed.push({ email: user.email, previous_cohort: previous, username: user.username });
      else out.added.push({ username: user.username, email: user.email });
    }
    return out;
  }

  async removeUser(courseId: string, id: number, username: string): Promise<void> {
    const cohort = await this.get(courseId, id);
    const [user]: UserRow[] = await this.dataSource.query('SELECT * FROM auth_user WHERE username = ?', [username]);
    if (!user) throw lmsError(404, 'user-not-found', `User ${username} does not exist.`);
    const result = await this.dataSource.query(
      'DELETE FROM course_groups_cohortmembership WHERE user_id = ? AND course_id = ? AND course_user_group_id = ?',
      [user.id, courseId, id],
    );
    if (!result.affectedRows) throw lmsError(400, 'user-not-in-cohort', 'User not assigned to the given cohort.');
    // edx-platform emits nothing when a learner leaves a cohort; with the companion plugin, this.
    await this.events.cohortMembershipRemoved(cohortEventData(cohort, user));
  }

  /**
   * CohortMembership.assign: inside one transaction, lock the learner's membership in the course,
   * move or create it. COHORT_MEMBERSHIP_CHANGED is sent from save(), before the row is written and
   * before the commit, so a consumer can see it before (or without) the change. The
   * rollback_after_emit fault makes the "without": the row is written, then the transaction fails.
   */
  private async assign(cohort: CohortRow, user: UserRow): Promise<string | null | 'present'> {
    // Django runs MySQL at READ COMMITTED: no gap locks, so adds of different learners do not deadlock.
    if (this.faults.failsAdd(user.username))
      throw new Error(`add failed (fault injection): ${user.username} not added to cohort ${cohort.id}`);
    return this.dataSource.transaction('READ COMMITTED', (m) => this.assignIn(m, cohort, user, true));
  }

  private async assignIn(
    m: EntityManager,
    cohort: CohortRow,
    user: UserRow,
    mayRetry: boolean,
  ): Promise<string | null | 'present'> {
    // select_for_update() on the membership alone, as edx-platform does: locking the cohort rows
    // too (a join) would make concurrent moves between two cohorts deadlock.
    const [current] = await m.query(
      'SELECT id, course_user_group_id FROM course_groups_cohortmembership WHERE user_id = ? AND course_id = ? FOR UPDATE',
      [user.id, cohort.course_id],
    );
    if (current)
      [{ name: current.name }] = await m.query('SELECT name FROM course_groups_courseusergroup WHERE id = ?', [
        current.course_user_group_id,
      ]);
    if (current && current.course_user_group_id === cohort.id) return 'present';
    await this.events.cohortMembershipChanged(cohortEventData(cohort, user));
    if (current)
      await m.query('UPDATE course_groups_cohortmembership SET course_user_group_id = ? WHERE id = ?', [
        cohort.id,
        current.id,
      ]);
    else {
      try {
        await m.query(
          'INSERT INTO course_groups_cohortmembership (course_id, course_user_group_id, user_id) VALUES (?, ?, ?)',
          [cohort.course_id, cohort.id, user.id],
        );
      } catch (error) {
        // get_or_create(): another request created the learner's membership since the select (no
        // gap lock at READ COMMITTED); Django then gets that row and goes on with it (a move).
        if (!mayRetry || (error as { driverError?: { code?: string } }).driverError?.code !== 'ER_DUP_ENTRY')
          throw error;
        return this.assignIn(m, cohort, user, false);
      }
    }
    if (this.faults.rollsBackAfterEmit(user.username))
      throw new Error(`rollback after emit (fault injection): ${user.username} not added to cohort ${cohort.id}`);
    return current ? (current.name as string) : null;
  }
}

/** CohortData of a learner and a cohort, as the LMS's cohort events carry it. */
function cohortEventData(cohort: CohortRow, user: UserRow): CohortMembershipChangedData {
  return {
    cohort: {
      user: {
        id: user.id,
        is_active: !!user.is_active,
        pii: { username: user.username, email: user.email, name: `${user.first_name} ${user.last_name}`.trim() },
      },
      course: { course_key: cohort.course_id, display_name: '', start: null, end: null },
      name: cohort.name,
    },
  };
}
