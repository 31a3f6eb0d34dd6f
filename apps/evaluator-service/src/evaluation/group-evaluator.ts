import { CriterionPlugin, CriterionValues, EvaluationScope, isExcept } from '@groups-sync/criteria-sdk';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { LmsReplica } from './lms-replica';
import { memberQuery } from './member-query';
import { intersectSorted, subtractSorted } from './sorted-streams';

export interface Member {
  id: number;
  username: string;
}

/** A criterion whose type is not installed: its group cannot be evaluated (and is never emptied for it). */
export class CriterionUnavailableError extends Error {
  constructor(
    readonly type: string,
    reason: string,
  ) {
    super(`criterion type ${type}: ${reason}`);
    this.name = 'CriterionUnavailableError';
  }
}

/**
 * The members a group's criteria select, ids ascending, streamed: the `lms_db` criteria pushed
 * down into one query, intersected with the sorted id streams of plugins on other backends (and
 * less the ids a plugin gives as `except`: the scope's learners who do not match).
 */
export class GroupEvaluator {
  constructor(
    private readonly registry: CriteriaRegistry,
    private readonly lmsReplica: LmsReplica | null,
  ) {}

  private get replica(): LmsReplica {
    if (!this.lmsReplica) throw new Error('LMS_DB_URL is not set: the evaluator cannot read the LMS');
    return this.lmsReplica;
  }

  members(scope: EvaluationScope, criteria: CriterionValues[], now = new Date()): AsyncGenerator<Member> {
    const { query, elsewhere } = this.plan(scope, criteria, now);
    // One statement: InnoDB reads it from one consistent snapshot, whatever the LMS writes meanwhile.
    return narrowed(this.replica.stream<Member>(query.sql, query.params), elsewhere, scope, now);
  }

  /** Whether the criteria select this one user now (a re-evaluation after an LMS event). */
  async selects(
    scope: EvaluationScope,
    criteria: CriterionValues[],
    userId: number,
    now = new Date(),
  ): Promise<boolean> {
    const { query, elsewhere } = this.plan(scope, criteria, now, userId);
    const base = this.replica.stream<Member>(query.sql, query.params);
    let selected = false;
    // Read to the end (one row at most): leaving a stream early would hand its connection back mid-query.
    for await (const member of narrowed(base, elsewhere, scope, now, userId)) selected ||= member.id === userId;
    return selected;
  }

  /**
   * The time an evaluation starting now stands for: what the LMS replica has applied, not this
   * process's clock (results are dated by it, and groups-service keeps any change newer than that).
   * With `after` (an LMS event's time), first waits up to `maxWaitMs` for the replica to apply the
   * event: evaluated earlier, it would read the state before the event.
   */
  async readAt(after?: Date, maxWaitMs = 5000): Promise<Date> {
    return (await (after ? this.replica.positionAfter(after, maxWaitMs) : this.replica.position())).at;
  }

  /** The LMS's username of a user id (grade events carry only the id); null for a user the LMS does not have. */
  async username(userId: number): Promise<string | null> {
    let username: string | null = null;
    for await (const row of this.replica.stream<{ username: string }>('SELECT username FROM auth_user WHERE id = ?', [
      userId,
    ]))
      username = row.username;
    return username;
  }

  private plan(scope: EvaluationScope, criteria: CriterionValues[], now: Date, userId?: number) {
    const resolved = criteria.map((criterion) => {
      const plugin = this.registry.get(criterion.type);
      if (!plugin)
        throw new CriterionUnavailableError(
          criterion.type,
          this.registry.unavailable(criterion.type) ?? 'no installed plugin provides it',
        );
      return { criterion, plugin };
    });
    const inDatabase = resolved.filter((r) => r.plugin.toSql);
    const elsewhere = resolved.filter((r) => !r.plugin.toSql);
    return { query: memberQuery(scope, inDatabase, now, userId), elsewhere };
  }
}

/** The members of `base` that every other-backend criterion selects: matching ids intersected, `except` ids subtracted. */
function narrowed(
  base: AsyncIterable<Member>,
  elsewhere: Array<{ criterion: CriterionValues; plugin: CriterionPlugin }>,
  scope: EvaluationScope,
  now: Date,
  userId?: number,
): AsyncGenerator<Member> {
  const matching: Array<AsyncIterable<number>> = [];
  const excluded: Array<AsyncIterable<number>> = [];
  elsewhere.forEach(({ criterion, plugin }, i) => {
    const ids = plugin.evaluate!(criterion, { scope, now, alias: `x${i}`, userId });
    if (isExcept(ids)) excluded.push(ids.except);
    else matching.push(ids);
  });
  return subtractSorted(intersectSorted(base, matching), excluded);
}
