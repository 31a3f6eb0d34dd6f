import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { inTransaction } from '@groups-sync/persistence';
import { ChangeContext } from '../audit/change-context';
import { GroupsErrorCode, GroupsException } from '../groups/groups.exception';
import { legacyKind } from '../groups/criteria-rules';
import { teamLink } from '../groups/legacy-link';
import { UserGroup } from '../groups/user-group.entity';
import { inSlices } from '../api/in-slices';
import { UserDirectory, UserLookup, UserResolution } from '../users/user-directory';
import { AddResult, MembershipWriter, RemoveResult, UserRef } from './membership-writer';
import { MembershipRepository } from './membership.repository';

export type { AddResult, RemoveResult } from './membership-writer';

/** One line of a bulk answer: the user as resolved (or as given, when not found) and what happened. */
export interface MemberResult<R extends string> {
  user_id: number | null;
  username: string | null;
  email?: string;
  result: R;
  reason?: string;
}

/** Users checked per query in a dry run. */
const BATCH = 1000;

/** Adding and removing members through the API (JSON and CSV). */
@Injectable()
export class MembershipsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly directory: UserDirectory,
    private readonly writer: MembershipWriter,
    private readonly memberships: MembershipRepository,
  ) {}

  /**
   * Adds users named by id, username or email to a group the caller loaded. Idempotent; each user
   * gets `added`, `already_member`, `unknown` (no such account in the LMS) or `refused` with a reason.
   */
  async add(
    group: UserGroup,
    refs: UserLookup[],
    ctx: ChangeContext,
    options: { dryRun?: boolean } = {},
  ): Promise<Array<MemberResult<AddResult>>> {
    assertWritable(group); // before asking the LMS about anyone
    const resolved = await this.directory.resolve(refs);
    const users = dedupe(
      resolved.flatMap((r) => (r.status === 'found' ? [{ user_id: r.account.id, username: r.account.username }] : [])),
    );
    const outcome = new Map<number, AddResult>();
    if (options.dryRun) {
      // What an add would answer, changing nothing: who is a member already.
      for (let i = 0; i < users.length; i += BATCH) {
        const ids = users.slice(i, i + BATCH).map((u) => u.user_id);
        const members = await this.memberships.activeAmong(group.id, ids);
        for (const id of ids) outcome.set(id, members.has(id) ? 'already_member' : 'added');
      }
    } else if (users.length) {
      const results = await inTransaction(this.dataSource, async (manager) => {
        // The lock reads the group again: it may have changed since the caller loaded it.
        const locked = await this.writer.lockGroups(manager, [group]);
        return this.writer.activateMany(manager, writable(locked, group.id), users, ctx, undefined, locked);
      });
      for (const r of results) outcome.set(r.user_id, r.result);
    }
    const results: Array<MemberResult<AddResult>> = [];
    await inSlices(refs, (ref) => results.push(describe(ref, resolved[results.length], outcome)));
    return results;
  }

  /** Removes users named by id, username or email: `removed`, `not_member`, `unknown` or `refused`. */
  async remove(group: UserGroup, refs: UserLookup[], ctx: ChangeContext): Promise<Array<MemberResult<RemoveResult>>> {
    assertWritable(group);
    // A bare user id needs no lookup: the membership row says whether it is a member.
    const lookups = refs.filter((r) => r.username !== undefined || r.email !== undefined);
    const looked = lookups.length ? await this.directory.resolve(lookups) : [];
    // `looked` answers `lookups` in order: walked alongside, not searched (10,000 refs, a search each, block the loop).
    let next = 0;
    const resolved: UserResolution[] = refs.map((r) =>
      r.username !== undefined || r.email !== undefined
        ? looked[next++]
        : { status: 'found', account: { id: r.user_id!, username: '', email: null } },
    );
    const userIds = [...new Set(resolved.flatMap((r) => (r.status === 'found' ? [r.account.id] : [])))];
    const outcome = new Map<number, RemoveResult>();
    if (userIds.length) {
      await inTransaction(this.dataSource, async (manager) => {
        outcome.clear(); // a deadlock retry starts over
        const locked = await this.writer.lockGroups(manager, [group]);
        for (const [userId, result] of await this.writer.deactivateMany(
          manager,
          writable(locked, group.id),
          userIds,
          ctx,
          null,
        ))
          outcome.set(userId, result);
      });
      // Name the users given by bare id, from their membership rows.
      const names = await this.memberships.usernamesIn(group.id, userIds);
      for (const r of resolved)
        if (r.status === 'found' && !r.account.username) r.account.username = names.get(r.account.id) ?? '';
    }
    const results: Array<MemberResult<RemoveResult>> = [];
    await inSlices(refs, (ref, i) => results.push(describe(ref, resolved[i], outcome)));
    return results;
  }
}

function writable(locked: Map<string, UserGroup>, id: string): UserGroup {
  const group = locked.get(id);
  if (!group) throw new GroupsException(GroupsErrorCode.GroupNotFound, `no group with id ${id}`);
  assertWritable(group);
  return group;
}

function assertWritable(group: UserGroup): void {
  if (group.kind === 'dynamic') {
    throw new GroupsException(
      GroupsErrorCode.MembersReadOnly,
      'members of a dynamic group come only from its criteria',
    );
  }
  if (legacyKind(group.criteria) === 'enrollment_track') {
    throw new GroupsException(
      GroupsErrorCode.MembersReadOnly,
      'an enrollment-track group mirrors enrollment modes; change the enrollment in the LMS',
    );
  }
  if (teamLink(group)?.wholeTeamset) {
    throw new GroupsException(
      GroupsErrorCode.MembersReadOnly,
      'this group mirrors every team of a teamset (read-only); change the teams in the LMS, or link a group to one team',
    );
  }
}

function describe<R extends string>(
  ref: UserLookup,
  resolution: UserResolution,
  outcome: Map<number, R>,
): MemberResult<R | 'unknown' | 'refused'> {
  const email = ref.email !== undefined ? { email: ref.email } : {};
  if (resolution.status === 'found') {
    const result = outcome.get(resolution.account.id)!;
    // The writer refuses one reason only: an account retired since the lookup.
    const reason = result === 'refused' ? { reason: 'this account was retired' } : {};
    return {
      user_id: resolution.account.id,
      username: resolution.account.username || ref.username || null,
      ...email,
      result,
      ...reason,
    };
  }
  const given = { user_id: ref.user_id ?? null, username: ref.username ?? null, ...email };
  return resolution.status === 'unknown'
    ? { ...given, result: 'unknown' }
    : { ...given, result: 'refused', reason: resolution.reason };
}

export function dedupe(users: UserRef[]): UserRef[] {
  const seen = new Map<number, UserRef>();
  for (const u of users) if (!seen.has(u.user_id)) seen.set(u.user_id, u);
  return [...seen.values()];
}
