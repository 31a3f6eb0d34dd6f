import { CriterionPlugin, CriterionValues, EvaluationScope } from '@groups-sync/criteria-sdk';

export interface MemberQuery {
  sql: string;
  params: unknown[];
}

/**
 * One query for the members a group's `lms_db` criteria select in its scope, ids ascending: the
 * scope's learners (active accounts; in a course, an active enrollment, as `e`), every criterion's
 * condition ANDed, pushed down to the database.
 * - course: learners with an active enrollment in the course;
 * - org: learners with an active enrollment in one of the organization's courses;
 * - instance: every active account.
 * `userId`: only that user (a re-evaluation).
 */
export function memberQuery(
  scope: EvaluationScope,
  criteria: Array<{ criterion: CriterionValues; plugin: CriterionPlugin }>,
  now: Date,
  userId?: number,
): MemberQuery {
  const joins: string[] = [];
  const joinParams: unknown[] = [];
  const where: string[] = ['u.is_active = 1'];
  const params: unknown[] = [];
  if (userId !== undefined) {
    where.push('u.id = ?');
    params.push(userId);
  }
  let from = 'auth_user u';
  if (scope.type === 'course') {
    from += ' JOIN student_courseenrollment e ON e.user_id = u.id AND e.course_id = ? AND e.is_active = 1';
    joinParams.push(scope.key);
  } else if (scope.type === 'org') {
    where.push(
      `EXISTS (SELECT 1 FROM student_courseenrollment o WHERE o.user_id = u.id AND o.is_active = 1 AND (o.course_id LIKE ? OR o.course_id LIKE ?))`,
    );
    params.push(`course-v1:${likeEscape(scope.key)}+%`, `${likeEscape(scope.key)}/%`);
  }
  criteria.forEach(({ criterion, plugin }, i) => {
    if (!plugin.toSql) throw new Error(`criterion type ${criterion.type} is not evaluated in the LMS database`);
    const condition = plugin.toSql(criterion, { scope, now, alias: `c${i}` });
    joins.push(...condition.joins);
    joinParams.push(...(condition.joinParams ?? []));
    where.push(condition.where);
    params.push(...condition.params);
  });
  return {
    sql: `SELECT u.id, u.username FROM ${from} ${joins.join(' ')} WHERE ${where.join(' AND ')} ORDER BY u.id`,
    params: [...joinParams, ...params],
  };
}

function likeEscape(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
