import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter, Histogram } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import {
  CriterionOperator,
  EvaluationSnapshotData,
  EventType,
  ScopeType,
  toCeTime,
  UserGroupCriterionData,
} from '@groups-sync/contracts';
import { CriterionValues } from '@groups-sync/criteria-sdk';
import { isDependencyUnavailable, metric, OutboxWriter } from '@groups-sync/messaging';
import { EvaluatorServiceConfig } from '../evaluator-service.config';
import { GroupEvaluator } from '../evaluation/group-evaluator';

export type RefreshTrigger = 'user' | 'scheduled' | 'event';

export interface DynamicGroupRow {
  group_id: string;
  scope_type: ScopeType;
  scope_key: string;
  criteria: string;
  enabled: number;
  version: number;
  frozen?: number;
  cadence_seconds?: number | null;
  cadence_override_seconds?: number | null;
}

const runs = metric(
  'evaluation_runs_total',
  () =>
    new Counter({
      name: 'evaluation_runs_total',
      help: 'Full refreshes of dynamic groups, by outcome',
      labelNames: ['outcome'],
    }),
);
const seconds = metric(
  'evaluation_run_seconds',
  () =>
    new Histogram({
      name: 'evaluation_run_seconds',
      help: 'Time to evaluate a group and write its snapshot',
      buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    }),
);

/** The criteria as the lifecycle events carry them (value and config as JSON text). */
export function criteriaOf(criteria: UserGroupCriterionData[]): CriterionValues[] {
  return criteria.map((c) => ({
    type: c.type,
    operator: (c.operator || '=') as CriterionOperator,
    value: c.value ? JSON.parse(c.value) : null,
    config: c.config ? JSON.parse(c.config) : {},
  }));
}

/**
 * A full refresh: the group's members as its criteria select them now, sent to groups-service as
 * `evaluation.snapshot.v1` chunks under one run id. Members are streamed from one consistent read
 * of the LMS, and each chunk but the last is sent as soon as the next member shows it was not the
 * last (`chunks` 0, committed on its own), so that groups-service applies it while the evaluation
 * goes on. The last chunk carries the count and is written with the caller's transaction (the inbox
 * row of the request): groups-service applies a run only when its last chunk is in, so a run that
 * fails halfway changes nothing there. A criterion that cannot be evaluated (no plugin, a plugin's
 * error) records the error on the group and sends no last chunk: the group keeps its members.
 */
@Injectable()
export class RefreshRuns {
  private readonly logger = new Logger(RefreshRuns.name);

  constructor(
    private readonly evaluator: GroupEvaluator,
    private readonly outbox: OutboxWriter,
    private readonly config: EvaluatorServiceConfig,
    private readonly dataSource: DataSource,
  ) {}

  async run(
    manager: EntityManager,
    group: DynamicGroupRow,
    trigger: RefreshTrigger,
    requestedBy: string | null,
  ): Promise<{ runId: string; members: number } | { error: string }> {
    const runId = randomUUID();
    const now = new Date();
    const end = seconds.startTimer();
    try {
      const criteria = JSON.parse(group.criteria) as CriterionValues[];
      // Results are dated by what the LMS replica has applied (behind `now` when it lags).
      const readAt = await this.evaluator.readAt();
      // A savepoint: the last chunk, written before a failure, is rolled back with it, the error is recorded.
      const members = await manager.transaction(async (run) => {
        const size = this.config.EVALUATION_CHUNK_SIZE;
        let chunk = 0;
        let batch: Array<{ user_id: number; username: string }> = [];
        const snapshot = (chunks: number): EvaluationSnapshotData => ({
          snapshot: {
            run_id: runId,
            group_id: group.group_id,
            chunk,
            chunks,
            members: batch,
            trigger,
            requested_by: requestedBy,
            evaluated_at: toCeTime(readAt),
          },
        });
        let seen = 0;
        let last = 0;
        for await (const m of this.evaluator.members({ type: group.scope_type, key: group.scope_key }, criteria, now)) {
          // groups-service applies a run range by range: ids must ascend. A plugin's join that
          // matches a learner twice repeats them (dropped); ids that go down are a plugin's bug.
          const id = Number(m.id);
          if (id === last) continue;
          if (id < last)
            throw new Error(
              `the criteria's members are not in ascending user id order (${id} after ${last}): a plugin must stream ids ascending`,
            );
          last = id;
          if (batch.length === size) {
            // A full chunk with a member after it is not the last: it goes now, committed on its own (one statement).
            const full = snapshot(0);
            await this.outbox.append(this.dataSource.manager, EventType.EvaluationSnapshot, full, {
              correlationId: runId,
            });
            chunk++;
            batch = [];
          }
          batch.push({ user_id: id, username: m.username });
          seen++;
        }
        await this.outbox.append(run, EventType.EvaluationSnapshot, snapshot(chunk + 1), { correlationId: runId });
        return seen;
      });
      await manager.query(
        'UPDATE dynamic_group SET last_run_id = ?, last_evaluated_at = ?, last_member_count = ?, last_error = NULL WHERE group_id = ?',
        [runId, now, members, group.group_id],
      );
      runs.inc({ outcome: 'sent' });
      const took = end();
      this.logger.log(
        `group ${group.group_id} evaluated (${trigger}): ${members} members in ${Math.max(1, Math.ceil(members / this.config.EVALUATION_CHUNK_SIZE))} chunks, run ${runId}, ${Math.round(took * 1000)} ms`,
      );
      return { runId, members };
    } catch (error) {
      end();
      if (isDependencyUnavailable(error)) throw error; // the LMS replica is down: retried
      const message = (error as Error).message;
      runs.inc({ outcome: 'failed' });
      this.logger.error(`group ${group.group_id} not evaluated: ${message}`);
      await manager.query('UPDATE dynamic_group SET last_error = ? WHERE group_id = ?', [
        message.slice(0, 2000),
        group.group_id,
      ]);
      // groups-service shows it on the group, which keeps its members.
      await this.outbox.append(
        manager,
        EventType.EvaluationFailed,
        {
          failure: {
            group_id: group.group_id,
            run_id: runId,
            error: message.slice(0, 2000),
            trigger,
            requested_by: requestedBy,
            failed_at: toCeTime(now),
          },
        },
        { correlationId: runId },
      );
      return { error: message };
    }
  }
}
