import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { DomainException } from '@groups-sync/observability';
import { inTransaction, isDuplicateKeyError } from '@groups-sync/persistence';
import { ChangeContext } from '../audit/change-context';
import { legacyKind } from '../groups/criteria-rules';
import { Criterion } from '../groups/criterion.entity';
import { GroupsService } from '../groups/groups.service';
import { normalizeScope } from '../groups/scope';
import { UserGroup } from '../groups/user-group.entity';
import { LmsCourseRuns } from './lms-course-runs';
import { rerunDecision } from './rerun-rules';

/** Who noticed a rerun: the LMS's rerun table (read on a schedule), or a call of the API. */
export type RerunNotice = { by: 'lms'; lmsUpdatedAt: Date } | { by: 'api'; requestedBy: string | null };

export interface RerunReport {
  copied: Array<{ group_id: string; from_group_id: string; name: string; kind: string }>;
  skipped: Array<{ from_group_id: string; name: string; kind: string; reason: string }>;
}

export interface RerunView {
  source_course_key: string;
  course_key: string;
  noticed_by: 'lms' | 'api';
  requested_by: string | null;
  applied_at: Date;
  report: RerunReport;
}

interface RerunRow {
  course_key: string;
  source_course_key: string;
  noticed_by: 'lms' | 'api';
  requested_by: string | null;
  applied_at: Date;
  report: string;
}

const view = (row: RerunRow): RerunView => ({
  source_course_key: row.source_course_key,
  course_key: row.course_key,
  noticed_by: row.noticed_by,
  requested_by: row.requested_by,
  applied_at: row.applied_at,
  report: JSON.parse(row.report) as RerunReport,
});

/**
 * Carries a course's User Groups into its rerun, once: the rerun's row (keyed by the new run) is
 * written in the same transaction as the copies, so a second notice of it, late or from another
 * instance, finds the row and changes nothing. The copies are new groups (created events: the
 * evaluator evaluates dynamic ones on the new run's learners at once, legacy-sync links a cohort
 * of the group's name in the new run or creates it); no membership is ever copied.
 */
@Injectable()
export class RerunsService {
  private readonly logger = new Logger(RerunsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly groups: GroupsService,
    private readonly lms: LmsCourseRuns,
  ) {}

  async recorded(courseKey: string): Promise<RerunView | null> {
    const [row] = await this.dataSource.query('SELECT * FROM course_rerun WHERE course_key = ?', [courseKey]);
    return row ? view(row as RerunRow) : null;
  }

  async apply(
    sourceCourseKey: string,
    courseKey: string,
    notice: RerunNotice,
  ): Promise<{ applied: boolean; rerun: RerunView }> {
    const source = normalizeScope('course', sourceCourseKey);
    const target = normalizeScope('course', courseKey);
    if (source === target)
      throw new DomainException(
        'RERUN_OF_ITSELF',
        'invalid',
        'a rerun is a new run: course_key must differ from source_course_key',
      );
    const before = await this.recorded(target);
    if (before) return { applied: false, rerun: before };

    const groups = await this.dataSource.getRepository(UserGroup).find({
      where: { scopeType: 'course', scopeKey: source, deletedAt: IsNull() },
      relations: { criteria: true },
      order: { name: 'ASC', criteria: { position: 'ASC' } },
    });
    // The new run's modes, for track groups only (an LMS outage here fails the notice; it comes again).
    const modes = groups.some((g) => legacyKind(g.criteria) === 'enrollment_track')
      ? await this.lms.modesOf(target)
      : null;

    const ctx: ChangeContext = {
      actor: notice.by === 'api' ? notice.requestedBy : 'lms',
      trigger: 'rerun',
      origin: 'criteria',
      at: new Date(),
    };
    const report: RerunReport = { copied: [], skipped: [] };
    try {
      await inTransaction(this.dataSource, async (manager) => {
        await manager.query(
          `INSERT INTO course_rerun (course_key, source_course_key, noticed_by, requested_by, lms_updated_at, applied_at, report)
           VALUES (?, ?, ?, ?, ?, ?, '{}')`,
          [
            target,
            source,
            notice.by,
            notice.by === 'api' ? notice.requestedBy : null,
            notice.by === 'lms' ? notice.lmsUpdatedAt : null,
            ctx.at,
          ],
        );
        for (const group of groups) await this.carry(manager, group, target, modes, ctx, report);
        await manager.query('UPDATE course_rerun SET report = ? WHERE course_key = ?', [
          JSON.stringify(report),
          target,
        ]);
      });
    } catch (error) {
      // Another instance (or a concurrent notice) recorded it first: theirs stands.
      if (isDuplicateKeyError(error)) return { applied: false, rerun: (await this.recorded(target))! };
      throw error;
    }
    this.logger.log(
      `rerun ${source} → ${target} (${notice.by}): ${report.copied.length} groups carried over, ${report.skipped.length} not`,
    );
    return { applied: true, rerun: (await this.recorded(target))! };
  }

  private async carry(
    manager: EntityManager,
    group: UserGroup,
    target: string,
    modes: string[] | null,
    ctx: ChangeContext,
    report: RerunReport,
  ): Promise<void> {
    const legacy = legacyKind(group.criteria);
    const mode = group.criteria.find((c) => c.type === 'legacy_enrollment_track')?.config?.mode;
    const decision = rerunDecision(
      {
        kind: group.kind,
        carryOverOnRerun: group.carryOverOnRerun,
        legacyKind: legacy,
        mode: mode as string | undefined,
      },
      modes,
    );
    const skip = (reason: string) =>
      report.skipped.push({ from_group_id: group.id, name: group.name, kind: group.kind, reason });
    if (!decision.copy) return void skip(decision.reason);
    const [taken] = await manager.query(
      "SELECT id FROM user_group WHERE scope_type = 'course' AND scope_key = ? AND name = ? AND deleted_at IS NULL",
      [target, group.name],
    );
    if (taken) return void skip(`the new run has a group of this name already (${taken.id})`);

    const copy = Object.assign(new UserGroup(), {
      ...group,
      id: randomUUID(),
      scopeKey: target,
      version: 1,
      lastRefreshedAt: null,
      evaluationError: null,
      evaluationFailedAt: null,
      rerunOfGroupId: group.id,
      rerunOfCourseKey: group.scopeKey,
      createdBy: ctx.actor,
      updatedBy: ctx.actor,
      createdAt: ctx.at,
      updatedAt: ctx.at,
      deletedAt: null,
    });
    copy.criteria = group.criteria.map((c, position) =>
      Object.assign(new Criterion(), {
        type: c.type,
        operator: c.operator,
        value: c.value,
        // A cohort is linked by the group's name in the new run: the old run's cohort id means nothing there.
        config: c.type === 'legacy_cohort' ? {} : c.config,
        groupId: copy.id,
        position,
      }),
    );
    await this.groups.insert(manager, copy, ctx, true, {
      origin: 'rerun',
      rerun_of: { group_id: group.id, course_key: group.scopeKey },
    });
    report.copied.push({ group_id: copy.id, from_group_id: group.id, name: group.name, kind: group.kind });
  }
}
