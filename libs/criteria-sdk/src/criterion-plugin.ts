import { CriterionOperator, CriterionTypeSpec, ScopeType } from '@groups-sync/contracts';

/** Where a dynamic group looks for members: a course (its active enrollments), an organization, the site. */
export interface EvaluationScope {
  type: ScopeType;
  key: string;
}

/** One criterion of a group, as stored (validated against the type's spec first). */
export interface CriterionValues {
  type: string;
  operator: CriterionOperator;
  value: unknown;
  config: Record<string, unknown>;
}

/**
 * A condition on the LMS's tables, pushed down into the one query that selects a group's members:
 * `where` refers to the user as `u` (auth_user) and, in a course scope, to the learner's active
 * enrollment as `e` (student_courseenrollment); `joins` are LEFT JOINs it needs (aliases its own).
 */
export interface SqlCondition {
  joins: string[];
  /** Parameters of the joins' `?`, in order (they come before the WHERE clause's). */
  joinParams?: unknown[];
  where: string;
  params: unknown[];
}

/** What the evaluator hands a plugin besides the criterion: the scope, the time "now" means, and a table alias of its own. */
export interface EvaluationContext {
  scope: EvaluationScope;
  now: Date;
  /** Unique per criterion of the query: prefix the aliases of the plugin's joins with it. */
  alias: string;
  /** Set when only this user is asked about (a re-evaluation after an event): `evaluate` may look at them alone. */
  userId?: number;
}

/**
 * What `evaluate` gives, ids ascending either way: the ids of the users who match, or (`except`) the
 * ids of those who do not, when the backend cannot know everyone who matches (a learner it has no
 * record of matches: "no activity" counts as more days than any). The evaluator intersects the
 * former with the scope's learners and subtracts the latter.
 */
export type EvaluatedIds = AsyncIterable<number> | { except: AsyncIterable<number> };

export function isExcept(ids: EvaluatedIds): ids is { except: AsyncIterable<number> } {
  return !(Symbol.asyncIterator in ids) && 'except' in ids;
}

/**
 * A criterion type. Its spec declares the operators, value type, scopes, backend, the events that
 * make it stale and its default cadence; the implementation is one of:
 * - `toSql` for the `lms_db` backend: the evaluator joins every such criterion of a group into one
 *   query over the LMS's read replica;
 * - `evaluate` for any other backend: the ids of the matching users (or of the scope's users who do
 *   not match: `EvaluatedIds`), in ascending order, streamed; the evaluator intersects (or subtracts)
 *   such streams with the query's.
 * A package adds types by exporting `criterionPlugins: CriterionPlugin[]`; operators name it in the
 * evaluator's `CRITERIA_PLUGINS`.
 */
export interface CriterionPlugin {
  spec: CriterionTypeSpec;
  /** Checks beyond the spec's value type (an empty list when the criterion is fine). */
  validate?(criterion: CriterionValues): string[];
  toSql?(criterion: CriterionValues, context: EvaluationContext): SqlCondition;
  evaluate?(criterion: CriterionValues, context: EvaluationContext): EvaluatedIds;
}

/** What a plugin package exports. */
export interface CriterionPluginModule {
  criterionPlugins: CriterionPlugin[];
}

export function isPluginModule(value: unknown): value is CriterionPluginModule {
  const plugins = (value as Partial<CriterionPluginModule> | null)?.criterionPlugins;
  return (
    Array.isArray(plugins) &&
    plugins.every(
      (p) => typeof p?.spec?.id === 'string' && (typeof p.toSql === 'function' || typeof p.evaluate === 'function'),
    )
  );
}
