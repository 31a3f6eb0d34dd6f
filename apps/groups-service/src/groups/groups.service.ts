import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { EventType, toCeTime } from '@groups-sync/contracts';
import { OutboxRelay, OutboxWriter } from '@groups-sync/messaging';
import { inTransaction, isDuplicateKeyError } from '@groups-sync/persistence';
import { appendAudit } from '../audit/audit.writer';
import { ChangeContext } from '../audit/change-context';
import { Membership } from '../memberships/membership.entity';
import { isCourseKey } from './course-key';
import { Criterion } from './criterion.entity';
import { CreateGroupDto } from './dto/create-group.dto';
import { userGroupData } from './group-events';
import { GroupsErrorCode, GroupsException } from './groups.exception';
import { LEGACY_COHORT } from './legacy-link';
import { UserGroup } from './user-group.entity';

@Injectable()
export class GroupsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly relay: OutboxRelay,
  ) {}

  async create(dto: CreateGroupDto, ctx: ChangeContext): Promise<UserGroup> {
    if (!isCourseKey(dto.scope_key)) {
      throw new GroupsException(GroupsErrorCode.InvalidScope, `scope_key "${dto.scope_key}" is not a course key (course-v1:Org+Course+Run or Org/Course/Run)`, { field: 'scope_key' });
    }
    const criteria = this.validateCriteria(dto);
    const group = Object.assign(new UserGroup(), {
      id: randomUUID(),
      scopeType: dto.scope_type,
      scopeKey: dto.scope_key,
      name: dto.name.trim(),
      description: dto.description ?? '',
      kind: dto.kind,
      enabled: true,
      frozen: false,
      refreshCadenceSeconds: null,
      lastRefreshedAt: null,
      version: 1,
      createdBy: ctx.actor,
      updatedBy: ctx.actor,
      createdAt: ctx.at,
      updatedAt: ctx.at,
      deletedAt: null,
    });
    group.criteria = criteria.map((c, position) => Object.assign(new Criterion(), { ...c, groupId: group.id, position }));
    try {
      await inTransaction(this.dataSource, async (manager) => {
        await manager.insert(UserGroup, { ...group, criteria: undefined });
        if (group.criteria.length) await manager.insert(Criterion, group.criteria.map((c) => ({ ...c, group: undefined })) as never);
        await appendAudit(manager, ctx, group.id, 'group_created', { name: group.name, kind: group.kind, criteria });
        await this.outbox.append(manager, EventType.UserGroupCreated, userGroupData(group, ctx.actor, ctx.at), ctx);
      });
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        throw new GroupsException(GroupsErrorCode.GroupNameTaken, `a group named "${group.name}" already exists in ${group.scopeKey}`, { field: 'name' });
      }
      throw error;
    }
    this.relay.notify();
    return group;
  }

  async get(id: string, manager: EntityManager = this.dataSource.manager): Promise<UserGroup> {
    const group = await manager.findOne(UserGroup, { where: { id }, relations: { criteria: true } });
    if (!group || group.deletedAt) throw new GroupsException(GroupsErrorCode.GroupNotFound, `no group with id ${id}`);
    return group;
  }

  async activeMembers(groupId: string): Promise<Membership[]> {
    return this.dataSource.getRepository(Membership).find({ where: { groupId, active: true }, order: { userId: 'ASC' } });
  }

  /** Records the cohort a group is linked to once legacy-sync has created or found it. */
  async recordCohortLink(manager: EntityManager, groupId: string, cohortId: number, ctx: ChangeContext): Promise<boolean> {
    const group = await manager.findOne(UserGroup, { where: { id: groupId }, relations: { criteria: true }, lock: { mode: 'pessimistic_write' } });
    const criterion = group?.criteria.find((c) => c.type === LEGACY_COHORT);
    if (!group || !criterion || criterion.config?.cohort_id === cohortId) return false; // nothing changes, nothing is published
    criterion.config = { ...(criterion.config ?? {}), cohort_id: cohortId };
    await manager.update(Criterion, { id: criterion.id }, { config: criterion.config as never });
    await appendAudit(manager, ctx, groupId, 'legacy_link_changed', { legacy_type: 'cohort', cohort_id: cohortId });
    await this.outbox.append(manager, EventType.UserGroupLegacyLinkChanged, {
      legacy_link: { group_id: groupId, legacy_type: 'cohort', legacy_id: String(cohortId), course_key: group.scopeKey, occurred_at: toCeTime(ctx.at) },
    }, ctx);
    return true;
  }

  private validateCriteria(dto: CreateGroupDto): Array<Pick<Criterion, 'type' | 'operator' | 'value' | 'config'>> {
    const criteria = dto.criteria ?? [];
    if (dto.kind === 'manual') {
      if (criteria.length) throw new GroupsException(GroupsErrorCode.InvalidCriterion, 'a manual group has no criteria', { field: 'criteria' });
      return [];
    }
    // kind === 'legacy': exactly one legacy criterion. Only cohorts are supported so far.
    if (criteria.length !== 1) {
      throw new GroupsException(GroupsErrorCode.InvalidCriterion, 'a legacy group has exactly one legacy criterion', { field: 'criteria' });
    }
    const [c] = criteria;
    if (c.type !== LEGACY_COHORT) {
      throw new GroupsException(GroupsErrorCode.InvalidCriterion, `criteria[0].type: expected "${LEGACY_COHORT}", got "${c.type}"`, { field: 'criteria[0].type' });
    }
    if (c.operator !== undefined && c.operator !== '=') {
      throw new GroupsException(GroupsErrorCode.InvalidCriterion, 'criteria[0].operator: legacy_cohort allows only "="', { field: 'criteria[0].operator' });
    }
    const config = c.config ?? {};
    const unknown = Object.keys(config).filter((k) => k !== 'cohort_id');
    if (unknown.length) {
      throw new GroupsException(GroupsErrorCode.InvalidCriterion, `criteria[0].config: unknown field(s) ${unknown.join(', ')}`, { field: 'criteria[0].config' });
    }
    const cohortId = config.cohort_id;
    if (cohortId !== undefined && cohortId !== null && !(Number.isSafeInteger(cohortId) && (cohortId as number) > 0)) {
      throw new GroupsException(GroupsErrorCode.InvalidCriterion, 'criteria[0].config.cohort_id: expected a positive integer', { field: 'criteria[0].config.cohort_id' });
    }
    return [{ type: LEGACY_COHORT, operator: '=', value: null, config: { cohort_id: (cohortId as number | undefined) ?? null } }];
  }
}
