import { CriterionValues, EvaluationScope } from '@groups-sync/criteria-sdk';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { LmsReplica } from './lms-replica';
import { memberQuery } from './member-query';
import { intersectSorted } from './sorted-streams';

export interface Member { id: number; username: string }

/** A criterion whose type is not installed: its group cannot be evaluated (and is never emptied for it). */
export class CriterionUnavailableError extends Error {
  constructor(readonly type: string, reason: string) {
    super(`criterion type ${type}: ${reason}`);
    this.name = 'CriterionUnavailableError';
  }
}

/**
 * The members a group's criteria select, ids ascending, streamed: the `lms_db` criteria pushed
 * down into one query, intersected with the sorted id streams of plugins on other backends.
 */
export class GroupEvaluator {
  constructor(private readonly registry: CriteriaRegistry, private readonly replica: LmsReplica) {}

  members(scope: EvaluationScope, criteria: CriterionValues[], now = new Date()): AsyncGenerator<Member> {
    const resolved = criteria.map((criterion) => {
      const plugin = this.registry.get(criterion.type);
      if (!plugin) throw new CriterionUnavailableError(criterion.type, 'no installed plugin provides it');
      return { criterion, plugin };
    });
    const inDatabase = resolved.filter((r) => r.plugin.toSql);
    const elsewhere = resolved.filter((r) => !r.plugin.toSql);
    const query = memberQuery(scope, inDatabase, now);
    const base = this.replica.stream<Member>(query.sql, query.params);
    return intersectSorted(base, elsewhere.map((r, i) => r.plugin.evaluate!(r.criterion, { scope, now, alias: `x${i}` })));
  }
}
