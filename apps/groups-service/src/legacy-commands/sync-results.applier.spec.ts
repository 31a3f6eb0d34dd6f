import { EntityManager } from 'typeorm';
import { LegacySyncCompletedData } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { ChangeContext } from '../audit/change-context';
import type { GroupsService } from '../groups/groups.service';
import type { UserGroup } from '../groups/user-group.entity';
import { MembershipWriter } from '../memberships/membership-writer';
import { MemberRow, MembershipRepository } from '../memberships/membership.repository';
import { SyncResult, SyncResults } from './sync-results.applier';

const T = Date.parse('2026-12-01T12:00:00Z');
const ctx: ChangeContext = { actor: 'legacy-sync', trigger: 'legacy', origin: 'legacy', at: new Date(T) };
const manager = {} as EntityManager;

function answer(userId: number, over: Partial<LegacySyncCompletedData['sync_result']> = {}): SyncResult {
  return {
    data: {
      group_id: 'a',
      user_id: userId,
      status: 'synced',
      error: null,
      legacy_type: 'cohort',
      legacy_id: '1',
      occurred_at: new Date(T).toISOString(),
      change_occurred_at: new Date(T - 1000).toISOString(),
      ...over,
    },
    ctx,
  };
}

function row(userId: number, over: Partial<MemberRow> = {}): MemberRow {
  return {
    id: `m${userId}`,
    groupId: 'a',
    userId,
    username: `u${userId}`,
    active: true,
    syncState: 'pending',
    syncError: null,
    changedAt: new Date(T - 1000),
    legacyObservedAt: null,
    supersededByGroupId: null,
    origin: 'api',
    ...over,
  };
}

/** SyncResults over a repository holding `rows`; what it writes is recorded. */
function syncResults(rows: MemberRow[]) {
  const repository = {
    lockMembers: jest.fn().mockResolvedValue(rows),
    confirm: jest.fn().mockResolvedValue(undefined),
    reject: jest.fn().mockResolvedValue(undefined),
  };
  const writer = { activateMany: jest.fn().mockResolvedValue([]), membershipEvent: jest.fn() };
  const outbox = { append: jest.fn().mockResolvedValue(undefined) };
  const results = new SyncResults(
    {} as GroupsService,
    writer as unknown as MembershipWriter,
    repository as unknown as MembershipRepository,
    outbox as unknown as OutboxWriter,
  );
  return { results, repository, writer, outbox };
}

const groups = (...ids: string[]) =>
  new Map(ids.map((id) => [id, { id, scopeType: 'course', scopeKey: 'c', criteria: [] } as unknown as UserGroup]));

jest.mock('../audit/audit.writer', () => ({ appendAudit: jest.fn().mockResolvedValue(undefined) }));

describe('SyncResults: the answers to our writes', () => {
  it('confirms every synced answer in one update, and leaves a membership synced already alone', async () => {
    const { results, repository } = syncResults([row(1), row(2), row(3, { syncState: 'synced' })]);
    await results.apply(manager, [answer(1), answer(2), answer(3)], groups('a'));
    expect(repository.lockMembers).toHaveBeenCalledTimes(1);
    expect(repository.confirm).toHaveBeenCalledWith(manager, ['m1', 'm2'], 'synced');
  });

  it("ignores an answer to a change older than the membership's latest", async () => {
    const { results, repository } = syncResults([row(1, { changedAt: new Date(T) })]);
    await results.apply(manager, [answer(1)], groups('a'));
    expect(repository.confirm).toHaveBeenCalledWith(manager, [], 'synced');
    expect(repository.reject).not.toHaveBeenCalled();
  });

  it('reverts an add the LMS refused, with the reason, and publishes the removal', async () => {
    const { results, repository, outbox } = syncResults([row(1)]);
    await results.apply(manager, [answer(1, { status: 'rejected', error: 'no such cohort' })], groups('a'));
    expect(repository.reject).toHaveBeenCalledWith(manager, 'm1', 'no such cohort', ctx.at);
    expect(outbox.append).toHaveBeenCalledTimes(1);
  });

  it('keeps the reason of a refused removal without reverting anything', async () => {
    const { results, repository, outbox } = syncResults([row(1, { active: false })]);
    await results.apply(manager, [answer(1, { status: 'rejected', error: 'refused' })], groups('a'));
    expect(repository.reject).toHaveBeenCalledWith(manager, 'm1', 'refused', null);
    expect(outbox.append).not.toHaveBeenCalled();
  });

  it('applies the LMS move set aside for an add the LMS found done already (no echo to come)', async () => {
    const { results, writer } = syncResults([row(1, { supersededByGroupId: 'b' })]);
    const locked = groups('a', 'b');
    await results.apply(manager, [answer(1, { lms_echo_expected: false })], locked);
    expect(writer.activateMany).toHaveBeenCalledWith(
      manager,
      locked.get('b'),
      [{ user_id: 1, username: 'u1' }],
      { ...ctx, origin: 'legacy' },
      'synced',
      locked,
    );
  });
});
