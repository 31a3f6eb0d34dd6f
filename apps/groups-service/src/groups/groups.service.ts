import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Brackets, DataSource, EntityManager } from 'typeorm';
import { EventType, ScopeType, toCeTime } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { inTransaction, isDuplicateKeyError } from '@groups-sync/persistence';
import { appendAudit } from '../audit/audit.writer';
import { ReadableScopes } from '../auth/readable-scopes';
import { ChangeContext } from '../audit/change-context';
import { MembershipRepository } from '../memberships/membership.repository';
import { checkCriteria, CriterionValues, defaultRefreshSeconds, legacyKind } from './criteria-rules';
import { Criterion } from './criterion.entity';
import { CreateGroupDto } from './dto/create-group.dto';
import { ListGroupsQuery } from './dto/list-groups.query';
import { UpdateGroupDto } from './dto/update-group.dto';
import { userGroupData } from './group-events';
import { GroupsErrorCode, GroupsException } from './groups.exception';
import { LEGACY_COHORT, LEGACY_TEAM } from './legacy-link';
import { normalizeScope } from './scope';
import { UserGroup } from './user-group.entity';
import { CriterionCatalogue } from './criterion-catalogue';

const STALE_SQL = `g.kind = 'dynamic' AND g.enabled = 1 AND g.frozen = 0 AND (g.last_refreshed_at IS NULL
  OR g.last_refreshed_at < NOW(6) - INTERVAL COALESCE(g.refresh_cadence_seconds, g.default_refresh_seconds, 86400) SECOND)`;

@Injectable()
export class GroupsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly criterionTypes: CriterionCatalogue,
    private readonly memberships: MembershipRepository,
  ) {}

  /** `evaluate: false` creates a dynamic group without evaluating it at once (the schedule or a refresh fills it). */
  async create(dto: CreateGroupDto, ctx: ChangeContext, evaluate = true): Promise<UserGroup> {
    const scopeKey = normalizeScope(dto.scope_type, dto.scope_key);
    const { catalogue } = await this.criterionTypes.installed();
    const criteria = checkCriteria(dto.kind, dto.scope_type, dto.criteria, catalogue);
    const group = Object.assign(new UserGroup(), {
      id: randomUUID(),
      scopeType: dto.scope_type,
      scopeKey,
      name: dto.name.trim(),
      description: dto.description ?? '',
      kind: dto.kind,
      collection: dto.collection?.trim() || null,
      enabled: dto.enabled ?? true,
      frozen: false,
      carryOverOnRerun: dto.carry_over_on_rerun ?? false,
      rerunOfGroupId: null,
      rerunOfCourseKey: null,
      refreshCadenceSeconds: dto.refresh_cadence_seconds ?? null,
      defaultRefreshSeconds: defaultRefreshSeconds(criteria, catalogue),
      lastRefreshedAt: null,
      version: 1,
      createdBy: ctx.actor,
      updatedBy: ctx.actor,
      createdAt: ctx.at,
      updatedAt: ctx.at,
      deletedAt: null,
    });
    group.criteria = criteria.map((c, position) =>
      Object.assign(new Criterion(), { ...c, groupId: group.id, position }),
    );
    await this.write(group, (manager) => this.insert(manager, group, ctx, evaluate));
    return group;
  }

  /**
   * Writes a new group (with its criteria), its `group_created` audit row and its created event,
   * inside the caller's transaction: for the API's create, and for the copies a rerun makes.
   */
  async insert(
    manager: EntityManager,
    group: UserGroup,
    ctx: ChangeContext,
    evaluate: boolean,
    auditDetails: Record<string, unknown> = {},
  ): Promise<void> {
    await manager.insert(UserGroup, { ...group, criteria: undefined });
    if (group.criteria.length)
      await manager.insert(Criterion, group.criteria.map((c) => ({ ...c, group: undefined })) as never);
    await appendAudit(manager, ctx, group.id, 'group_created', {
      name: group.name,
      kind: group.kind,
      scope: `${group.scopeType}:${group.scopeKey}`,
      criteria: group.criteria.map(({ type, operator, value, config }) => ({ type, operator, value, config })),
      ...auditDetails,
    });
    await this.outbox.append(
      manager,
      EventType.UserGroupCreated,
      userGroupData(group, ctx.actor, ctx.at, evaluate && group.kind === 'dynamic' && group.enabled),
      ctx,
    );
  }

  async get(id: string, manager: EntityManager = this.dataSource.manager, lock = false): Promise<UserGroup> {
    const group = await manager.findOne(UserGroup, {
      where: { id },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!group || group.deletedAt) throw new GroupsException(GroupsErrorCode.GroupNotFound, `no group with id ${id}`);
    group.criteria = await manager.find(Criterion, { where: { groupId: id }, order: { position: 'ASC' } });
    return group;
  }

  async list(
    query: ListGroupsQuery,
    offset: number,
    limit: number,
    readable: ReadableScopes,
  ): Promise<{ count: number; groups: UserGroup[] }> {
    const qb = this.dataSource.getRepository(UserGroup).createQueryBuilder('g').where('g.deleted_at IS NULL');
    if (!readable.all) {
      qb.andWhere(
        new Brackets((w) => {
          w.where('1 = 0');
          if (readable.courseKeys.length)
            w.orWhere(`(g.scope_type = 'course' AND g.scope_key IN (:...courseKeys))`, {
              courseKeys: readable.courseKeys,
            });
          // An org from a token is matched literally: `_` and `%` in it are no wildcards.
          readable.orgs.forEach((org, i) =>
            w.orWhere(
              `((g.scope_type = 'org' AND g.scope_key = :org${i}) OR (g.scope_type = 'course' AND (g.scope_key LIKE :v1org${i} ESCAPE '\\\\' OR g.scope_key LIKE :oldorg${i} ESCAPE '\\\\')))`,
              {
                [`org${i}`]: org,
                [`v1org${i}`]: `course-v1:${escapeLike(org)}+%`,
                [`oldorg${i}`]: `${escapeLike(org)}/%`,
              },
            ),
          );
        }),
      );
    }
    if (query.scope_type) qb.andWhere('g.scope_type = :scopeType', { scopeType: query.scope_type });
    if (query.scope_key !== undefined) qb.andWhere('g.scope_key = :scopeKey', { scopeKey: query.scope_key });
    if (query.kind) qb.andWhere('g.kind = :kind', { kind: query.kind });
    if (query.enabled !== undefined) qb.andWhere('g.enabled = :enabled', { enabled: query.enabled ? 1 : 0 });
    if (query.name) qb.andWhere(`g.name LIKE :name ESCAPE '\\\\'`, { name: `%${escapeLike(query.name)}%` });
    if (query.stale !== undefined) qb.andWhere(query.stale ? `(${STALE_SQL})` : `NOT (${STALE_SQL})`);
    const [groups, count] = await qb
      .orderBy('g.created_at', 'ASC')
      .addOrderBy('g.id', 'ASC')
      .skip(offset)
      .take(limit)
      .getManyAndCount();
    if (groups.length) {
      const criteria = await this.dataSource
        .getRepository(Criterion)
        .createQueryBuilder('c')
        .where('c.group_id IN (:...ids)', { ids: groups.map((g) => g.id) })
        .orderBy('c.position')
        .getMany();
      for (const g of groups) g.criteria = criteria.filter((c) => c.groupId === g.id);
    }
    return { count, groups };
  }

  /**
   * Applies a PATCH if the caller saw the current version (If-Match). A change that alters nothing
   * keeps the version and publishes nothing.
   */
  async update(
    id: string,
    expectedVersion: number,
    dto: UpdateGroupDto,
    ctx: ChangeContext,
    evaluate = true,
  ): Promise<UserGroup> {
    const { catalogue } = await this.criterionTypes.installed();
    const collection = dto.collection === undefined ? undefined : dto.collection?.trim() || null;
    return this.write(null, async (manager) => {
      if (collection) {
        // Joining a collection locks the scope's groups before this one's row (the writers' id order).
        const seen = await this.get(id, manager);
        if (collection !== seen.collection) await this.lockScope(manager, seen);
      }
      const group = await this.get(id, manager, true);
      if (group.version !== expectedVersion) {
        throw new GroupsException(
          GroupsErrorCode.VersionMismatch,
          `the group changed since version ${expectedVersion}; read it again`,
          { current_version: group.version },
        );
      }
      if (
        (dto.scope_type !== undefined && dto.scope_type !== group.scopeType) ||
        (dto.scope_key !== undefined && dto.scope_key !== group.scopeKey)
      ) {
        throw new GroupsException(
          GroupsErrorCode.ScopeImmutable,
          'the scope of a group never changes; create a new group instead',
          { field: 'scope_type' },
        );
      }
      if (dto.kind !== undefined && dto.kind !== group.kind) {
        throw new GroupsException(GroupsErrorCode.KindImmutable, 'the kind of a group never changes', {
          field: 'kind',
        });
      }
      if (collection && collection !== group.collection) await this.assertCanJoinCollection(manager, group, collection);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const set = <K extends keyof UserGroup>(key: K, value: UserGroup[K] | undefined, field: string) => {
        if (value === undefined || value === group[key]) return;
        changes[field] = { from: group[key], to: value };
        group[key] = value;
      };
      set('name', dto.name?.trim(), 'name');
      set('description', dto.description, 'description');
      set('enabled', dto.enabled, 'enabled');
      set('frozen', dto.frozen, 'frozen');
      set('carryOverOnRerun', dto.carry_over_on_rerun, 'carry_over_on_rerun');
      set('refreshCadenceSeconds', dto.refresh_cadence_seconds, 'refresh_cadence_seconds');
      set('collection', collection, 'collection');
      let newCriteria: CriterionValues[] | null = null;
      if (dto.criteria !== undefined) {
        const checked = checkCriteria(group.kind, group.scopeType, dto.criteria, catalogue);
        const current = group.criteria.map(({ type, operator, value, config }) => ({ type, operator, value, config }));
        if (JSON.stringify(checked) !== JSON.stringify(current)) {
          if (group.kind === 'legacy')
            throw new GroupsException(
              GroupsErrorCode.LegacyLinkImmutable,
              'a legacy group stays linked to its legacy group; create another group to link another',
              { field: 'criteria' },
            );
          newCriteria = checked;
          changes.criteria = { from: current, to: checked };
        }
      }
      if (!Object.keys(changes).length) return group;
      group.version += 1;
      group.updatedAt = ctx.at;
      group.updatedBy = ctx.actor;
      if (newCriteria) group.defaultRefreshSeconds = defaultRefreshSeconds(newCriteria, catalogue);
      const { criteria: _criteria, ...columns } = group;
      await manager.update(UserGroup, { id }, columns);
      if (newCriteria) {
        await manager.delete(Criterion, { groupId: id });
        group.criteria = newCriteria.map((c, position) =>
          Object.assign(new Criterion(), { ...c, groupId: id, position }),
        );
        await manager.insert(Criterion, group.criteria.map((c) => ({ ...c, group: undefined })) as never);
      }
      for (const [field, change] of Object.entries(changes)) {
        const action =
          field === 'name'
            ? 'group_renamed'
            : field === 'criteria'
              ? 'criteria_changed'
              : field === 'enabled'
                ? change.to
                  ? 'group_enabled'
                  : 'group_disabled'
                : 'group_updated';
        await appendAudit(manager, ctx, id, action, { field, ...change });
      }
      // Only a change to who the group selects, or to whether it is evaluated at all, is worth an evaluation.
      const reevaluate =
        evaluate &&
        group.kind === 'dynamic' &&
        group.enabled &&
        !group.frozen &&
        (!!newCriteria || changes.enabled !== undefined || changes.frozen !== undefined);
      await this.outbox.append(
        manager,
        EventType.UserGroupUpdated,
        userGroupData(group, ctx.actor, ctx.at, reevaluate),
        ctx,
      );
      return group;
    });
  }

  /**
   * A group joins a collection only if none of its members is in another group of it: a user is in
   * at most one group of a collection. Every group of the scope is locked first, in id order (the
   * writers' order, and a superset of any sibling set), so neither an add nor another group moving
   * into the collection can slip between this check and the change.
   */
  private async assertCanJoinCollection(manager: EntityManager, group: UserGroup, collection: string): Promise<void> {
    const scope = await this.lockScope(manager, group);
    const siblings = scope
      .filter((g) => g.id !== group.id && !g.deletedAt && g.collection === collection)
      .map((g) => g.id);
    if (!siblings.length) return;
    const { count, examples } = await this.memberships.overlap(manager, group.id, siblings, 10);
    if (!count) return;
    throw new GroupsException(
      GroupsErrorCode.CollectionConflict,
      `${count} ${count === 1 ? 'member of this group is' : 'members of this group are'} in another group of collection "${collection}" already, ` +
        'and a user may be in one group of a collection: remove them from one of the groups first',
      {
        field: 'collection',
        collection,
        overlapping_members: count,
        examples,
      },
    );
  }

  /** Every group of the group's scope, deleted ones too, locked in id order. */
  private lockScope(manager: EntityManager, group: UserGroup): Promise<UserGroup[]> {
    return manager.find(UserGroup, {
      where: { scopeType: group.scopeType, scopeKey: group.scopeKey },
      order: { id: 'ASC' },
      lock: { mode: 'pessimistic_write' },
    });
  }

  /**
   * Soft delete. The LMS cannot delete cohorts or enrollment tracks, so a group linked to one is
   * kept unless the caller asks to unlink it, which leaves the legacy group untouched. A team-linked
   * group's team is deleted with it (legacy-sync does it) unless the caller asks to unlink.
   */
  async delete(id: string, unlink: boolean, ctx: ChangeContext): Promise<void> {
    await this.write(null, async (manager) => {
      const group = await this.get(id, manager, true);
      const legacy = legacyKind(group.criteria);
      if ((legacy === 'cohort' || legacy === 'enrollment_track') && !unlink) {
        throw new GroupsException(
          GroupsErrorCode.LegacyGroupNotDeletable,
          `this group mirrors a ${legacy === 'cohort' ? 'cohort' : 'enrollment track'}, which the LMS cannot delete; pass unlink=true to delete the group and keep the ${legacy === 'cohort' ? 'cohort' : 'track'}`,
        );
      }
      group.deletedAt = ctx.at;
      group.version += 1;
      await manager.update(
        UserGroup,
        { id },
        { deletedAt: ctx.at, version: group.version, updatedAt: ctx.at, updatedBy: ctx.actor },
      );
      await appendAudit(manager, ctx, id, 'group_deleted', {
        unlinked: legacy === 'cohort' || legacy === 'enrollment_track' ? true : undefined,
        legacy,
      });
      await this.outbox.append(
        manager,
        EventType.UserGroupDeleted,
        userGroupData(group, ctx.actor, ctx.at, false, unlink),
        ctx,
      );
    });
  }

  /** Asks the evaluator to re-evaluate a dynamic group now, and records who asked. */
  async requestRefresh(id: string, ctx: ChangeContext): Promise<{ group_id: string; requested_at: Date }> {
    await this.write(null, async (manager) => {
      const group = await this.get(id, manager);
      if (group.kind !== 'dynamic')
        throw new GroupsException(
          GroupsErrorCode.NotRefreshable,
          `only dynamic groups are evaluated; this one is ${group.kind}`,
        );
      if (!group.enabled || group.frozen)
        throw new GroupsException(
          GroupsErrorCode.NotRefreshable,
          'the group is disabled or frozen; enable or unfreeze it first',
        );
      await appendAudit(manager, ctx, id, 'refresh_requested', {});
      await this.outbox.append(
        manager,
        EventType.UserGroupRefreshRequested,
        {
          refresh: {
            group_id: id,
            requested_by: ctx.actor,
            trigger: ctx.trigger === 'scheduled' ? 'scheduled' : ctx.trigger === 'event' ? 'event' : 'user',
            occurred_at: toCeTime(ctx.at),
          },
        },
        ctx,
      );
    });
    return { group_id: id, requested_at: ctx.at };
  }

  /** Scope of each live group among `ids` (unknown and deleted ones left out). */
  async liveScopes(ids: string[]): Promise<Array<{ id: string; scope_type: ScopeType; scope_key: string }>> {
    return this.dataSource.query(
      'SELECT id, scope_type, scope_key FROM user_group WHERE id IN (?) AND deleted_at IS NULL',
      [ids],
    );
  }

  /** Records the cohort a group is linked to once legacy-sync has created or found it. */
  recordCohortLink(manager: EntityManager, groupId: string, cohortId: number, ctx: ChangeContext): Promise<boolean> {
    return this.recordLegacyLink(manager, groupId, 'cohort', cohortId, ctx);
  }

  /** Records the team a group mirrors once legacy-sync has found it, or created it in its teamset. */
  recordTeamLink(manager: EntityManager, groupId: string, teamId: string, ctx: ChangeContext): Promise<boolean> {
    return this.recordLegacyLink(manager, groupId, 'team', teamId, ctx);
  }

  private async recordLegacyLink(
    manager: EntityManager,
    groupId: string,
    type: 'cohort' | 'team',
    id: number | string,
    ctx: ChangeContext,
  ): Promise<boolean> {
    const field = type === 'cohort' ? 'cohort_id' : 'team_id';
    const group = await manager.findOne(UserGroup, { where: { id: groupId }, lock: { mode: 'pessimistic_write' } });
    const criterion =
      group &&
      (await manager.findOne(Criterion, { where: { groupId, type: type === 'cohort' ? LEGACY_COHORT : LEGACY_TEAM } }));
    if (!group || !criterion || criterion.config?.[field] === id) return false; // nothing changes, nothing is published
    criterion.config = { ...(criterion.config ?? {}), [field]: id };
    await manager.update(Criterion, { id: criterion.id }, { config: criterion.config as never });
    await appendAudit(manager, ctx, groupId, 'legacy_link_changed', { legacy_type: type, [field]: id });
    await this.outbox.append(
      manager,
      EventType.UserGroupLegacyLinkChanged,
      {
        legacy_link: {
          group_id: groupId,
          legacy_type: type,
          legacy_id: String(id),
          course_key: group.scopeKey,
          occurred_at: toCeTime(ctx.at),
        },
      },
      ctx,
    );
    return true;
  }

  /** One transaction; a duplicate name (the unique index) becomes GROUP_NAME_TAKEN. */
  private async write<T>(group: UserGroup | null, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      const result = await inTransaction(this.dataSource, work);
      return result;
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        throw new GroupsException(
          GroupsErrorCode.GroupNameTaken,
          `a group with this name already exists in this scope${group ? ` (${group.scopeType} ${group.scopeKey})` : ''}`,
          { field: 'name' },
        );
      }
      throw error;
    }
  }
}

/** A value for LIKE ... ESCAPE '\\' that matches itself only. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
