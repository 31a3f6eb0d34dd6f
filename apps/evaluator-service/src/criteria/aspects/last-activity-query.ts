import { CriterionValues, EvaluationContext } from '@groups-sync/criteria-sdk';

/** Where Aspects keeps what the query reads (tutor-contrib-aspects' DBT_PROFILE_TARGET_DATABASE and ASPECTS_EVENT_SINK_DATABASE). */
export interface AspectsDatabases {
  reporting: string;
  eventSink: string;
}

/** The SQL for ClickHouse, and whether its ids are those who match or (`except`) the learners with activity who do not. */
export interface LastActivityQuery {
  sql: string;
  except: boolean;
}

const DAY_SECONDS = 86_400;

/**
 * Days since a learner's last visit to the course, in whole days (`floor((now - last) / 24 h)`,
 * as `TIMESTAMPDIFF(DAY, …)` counts for last_login; a visit after `now` counts as 0). A learner
 * with no visit counts as more days than any: ClickHouse cannot list those (it does not know who
 * is enrolled), so for `>`, `>=` and `!=` the query gives the learners with a visit who do NOT
 * match, and the evaluator subtracts them from the course's learners.
 *
 * Reads Aspects' own "last course visit" (its at-risk and active-learner reports use it):
 * `dim_learner_last_course_visit` (org, course_key, actor_id, emission_time), the last navigation
 * event per learner and course (openedx/aspects-dbt models/navigation/dim_learner_last_course_visit.sql),
 * a ReplacingMergeTree that may hold several rows per learner until merged, hence `max`. The xAPI
 * actor is the learner's external id; `external_id` of the event sink maps it to the LMS user id
 * (tutor-contrib-aspects migration 0026_event_sink_external_id.py; `user_pii` joins it the same way).
 *
 * Values are inlined, not sent as query parameters: ClickHouse before 19.x has none, and the days
 * (a validated integer), the times (integers) and the course key (a quoted literal) are all safe so.
 */
export function lastActivityQuery(
  criterion: CriterionValues,
  context: EvaluationContext,
  databases: AspectsDatabases,
): LastActivityQuery {
  if (context.scope.type !== 'course') throw new Error('days_since_last_activity needs a course scope');
  const days = criterion.value;
  if (!Number.isSafeInteger(days) || (days as number) < 0)
    throw new Error('days_since_last_activity needs a whole number of days');
  const n = days as number;
  const now = Math.floor(context.now.getTime() / 1000);
  // In whole days d: d >= k ⇔ last <= now - k days (always, for k = 0); d < k ⇔ the opposite.
  const atLeast = (k: number) => (k === 0 ? '1' : `max(visited) <= toDateTime(${now - k * DAY_SECONDS})`);
  const below = (k: number) => (k === 0 ? '0' : `max(visited) > toDateTime(${now - k * DAY_SECONDS})`);
  const conditions: Record<string, { having: string; except: boolean }> = {
    '<': { having: below(n), except: false },
    '<=': { having: below(n + 1), except: false },
    '=': { having: `${atLeast(n)} AND ${below(n + 1)}`, except: false },
    // Learners with a visit who do not match; those with none match.
    '>': { having: below(n + 1), except: true },
    '>=': { having: below(n), except: true },
    '!=': { having: `${atLeast(n)} AND ${below(n + 1)}`, except: true },
  };
  const condition = conditions[criterion.operator];
  if (!condition) throw new Error(`operator ${criterion.operator} is not one of days_since_last_activity's`);
  const onlyUser = context.userId === undefined ? '' : ` AND user_id = ${Math.trunc(context.userId)}`;
  const visits = `${identifier(databases.reporting)}.dim_learner_last_course_visit`;
  const course = `course_key = ${stringLiteral(context.scope.key)}`;
  // The course's actors filter the id map first: its DISTINCT then holds the course's learners, not the site's.
  const sql = `SELECT user_id AS id
FROM (
  SELECT DISTINCT toString(external_user_id) AS actor_id, user_id
  FROM ${identifier(databases.eventSink)}.external_id
  WHERE external_id_type = 'xapi'${onlyUser} AND toString(external_user_id) IN (SELECT actor_id FROM ${visits} WHERE ${course})
) AS ids
ALL INNER JOIN (
  SELECT actor_id, max(emission_time) AS visited
  FROM ${visits}
  WHERE ${course}
  GROUP BY actor_id
) AS visits USING actor_id
GROUP BY user_id
HAVING ${condition.having}
ORDER BY id`;
  return { sql, except: condition.except };
}

/** A ClickHouse string literal: backslash and quote escaped, control characters as \xHH. */
export function stringLiteral(value: string): string {
  const escaped = value
    .replace(/[\\']/g, (c) => `\\${c}`)
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${escaped}'`;
}

function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a database name: ${name}`);
  return `\`${name}\``;
}
