import { CriterionOperator } from '@groups-sync/contracts';
import { EvaluationContext } from '@groups-sync/criteria-sdk';
import { lastActivityQuery, stringLiteral } from './last-activity-query';

const NOW = new Date('2026-11-29T12:00:00.750Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const DAY = 86_400;
const DATABASES = { reporting: 'reporting', eventSink: 'event_sink' };
const course = (key = 'course-v1:Org+C1+2026', userId?: number): EvaluationContext => ({
  scope: { type: 'course', key },
  now: NOW,
  alias: 'x0',
  userId,
});
const query = (operator: CriterionOperator, value: unknown, context = course()) =>
  lastActivityQuery({ type: 'days_since_last_activity', operator, value, config: {} }, context, DATABASES);
const having = (sql: string) => /HAVING (.*)\n/.exec(sql)![1];

describe('lastActivityQuery', () => {
  it.each([
    // operator, days, ids given as `except`, HAVING on the learner's last visit
    ['<', 7, false, `max(visited) > toDateTime(${NOW_S - 7 * DAY})`],
    ['<=', 7, false, `max(visited) > toDateTime(${NOW_S - 8 * DAY})`],
    ['=', 7, false, `max(visited) <= toDateTime(${NOW_S - 7 * DAY}) AND max(visited) > toDateTime(${NOW_S - 8 * DAY})`],
    ['>', 7, true, `max(visited) > toDateTime(${NOW_S - 8 * DAY})`],
    ['>=', 7, true, `max(visited) > toDateTime(${NOW_S - 7 * DAY})`],
    ['!=', 7, true, `max(visited) <= toDateTime(${NOW_S - 7 * DAY}) AND max(visited) > toDateTime(${NOW_S - 8 * DAY})`],
  ] as const)('%s %d days: except %s, HAVING %s', (operator, days, except, condition) => {
    const q = query(operator, days);
    expect(q.except).toBe(except);
    expect(having(q.sql)).toBe(condition);
  });

  it("counts a visit today, or after the evaluation's time, as 0 days", () => {
    expect(having(query('=', 0).sql)).toBe(`1 AND max(visited) > toDateTime(${NOW_S - DAY})`);
    expect(having(query('<', 0).sql)).toBe('0');
    expect(query('>=', 0)).toEqual({ sql: expect.stringContaining('HAVING 0\n'), except: true });
  });

  it("reads Aspects' last course visits of the scope's course, mapped to LMS user ids through the event sink's xAPI external ids, ids ascending", () => {
    const { sql } = query('<', 7);
    expect(sql).toContain('FROM `event_sink`.external_id');
    expect(sql).toContain(
      "WHERE external_id_type = 'xapi' AND toString(external_user_id) IN (SELECT actor_id FROM `reporting`.dim_learner_last_course_visit WHERE course_key = 'course-v1:Org+C1+2026')",
    );
    expect(sql).toContain(
      "FROM `reporting`.dim_learner_last_course_visit\n  WHERE course_key = 'course-v1:Org+C1+2026'\n  GROUP BY actor_id",
    );
    expect(sql).toMatch(/GROUP BY user_id\nHAVING .*\nORDER BY id$/);
  });

  it('asks about one user only when the context names one', () => {
    expect(query('>', 3, course(undefined, 42)).sql).toContain("WHERE external_id_type = 'xapi' AND user_id = 42 AND");
    expect(query('>', 3).sql).not.toContain('user_id = ');
  });

  it('quotes the course key as a literal', () => {
    expect(query('<', 1, course("x' OR 1=1 --\\")).sql).toContain("course_key = 'x\\' OR 1=1 --\\\\'");
    expect(stringLiteral('a\nb\u0000')).toBe("'a\\x0ab\\x00'");
  });

  it.each([
    [
      'an org scope',
      () =>
        lastActivityQuery(
          { type: 'days_since_last_activity', operator: '<', value: 3, config: {} },
          { scope: { type: 'org', key: 'Org' }, now: NOW, alias: 'x0' },
          DATABASES,
        ),
      'course scope',
    ],
    ['days that are not a whole number', () => query('<', 1.5), 'whole number of days'],
    ['negative days', () => query('<', -1), 'whole number of days'],
    ['an operator of another type', () => query('in', 3), 'not one of'],
    [
      'a database name that is not an identifier',
      () =>
        lastActivityQuery({ type: 'days_since_last_activity', operator: '<', value: 3, config: {} }, course(), {
          reporting: 'reporting; DROP',
          eventSink: 'event_sink',
        }),
      'not a database name',
    ],
  ])('refuses %s', (_what, build, message) => {
    expect(build).toThrow(message);
  });
});
