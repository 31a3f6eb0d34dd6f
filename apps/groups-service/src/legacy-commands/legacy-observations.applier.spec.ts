import { EntityManager } from 'typeorm';
import { OutboxWriter } from '@groups-sync/messaging';
import { ChangeContext } from '../audit/change-context';
import { Criterion } from '../groups/criterion.entity';
import { LEGACY_COHORT } from '../groups/legacy-link';
import { UserGroup } from '../groups/user-group.entity';
import { MembershipWriter } from '../memberships/membership-writer';
import { MemberRow, MembershipRepository } from '../memberships/membership.repository';
import { LegacyObservations, Observation } from './legacy-observations.applier';

const COURSE = 'course-v1:O+C+R';
const T = Date.parse('2026-12-01T12:00:00Z');
const ctx: ChangeContext = { actor: 'legacy-sync', trigger: 'legacy', origin: 'legacy', at: new Date(T) };
const manager = {} as EntityManager;

function cohortGroup(id: string): UserGroup {
  return Object.assign(new UserGroup(), {
    id,
    scopeType: 'course',
    scopeKey: COURSE,
    kind: 'legacy',
    collection: null,
    criteria: [Object.assign(new Criterion(), { type: LEGACY_COHORT, config: { cohort_id: 1 } })],
  });
}

function observation(
  groupId: string,
  userId: number,
  seconds: number,
  over: Partial<Observation['data']> = {},
): Observation {
  return {
    data: {
      group_id: groupId,
      course_key: COURSE,
      user_id: userId,
      username: `u${userId}`,
      action: 'added',
      observed_at: '',
      source_event_id: 'e',
      ...over,
    },
    observedAt: new Date(T + seconds * 1000),
    ctx,
  };
}

function row(groupId: string, userId: number, over: Partial<MemberRow> = {}): MemberRow {
  return {
    id: `${groupId}-${userId}`,
    groupId,
    userId,
    username: `u${userId}`,
    active: true,
    syncState: 'synced',
    syncError: null,
    changedAt: new Date(T - 60_000),
    legacyObservedAt: null,
    supersededByGroupId: null,
    origin: 'legacy',
    ...over,
  };
}

/** The applier over a repository holding `rows`, with the writer's bulk changes recorded. */
function applier(rows: MemberRow[] = []) {
  const repository = {
    lockMembers: jest.fn().mockResolvedValue(rows),
    recordObservedAt: jest.fn().mockResolvedValue(undefined),
  };
  const writer = new MembershipWriter({} as OutboxWriter, repository as unknown as MembershipRepository);
  const activateMany = jest.spyOn(writer, 'activateMany').mockResolvedValue([]);
  const deactivateMany = jest.spyOn(writer, 'deactivateMany').mockResolvedValue(new Map());
  return {
    observations: new LegacyObservations(writer, repository as unknown as MembershipRepository),
    repository,
    activateMany,
    deactivateMany,
  };
}

const a = cohortGroup('a');
const b = cohortGroup('b');
const locked = new Map([
  [a.id, a],
  [b.id, b],
]);

describe('LegacyObservations: a batch read once and written in bulk', () => {
  it('reads every membership in one locking read and writes one bulk change per group, whatever the batch size', async () => {
    const { observations, repository, activateMany } = applier();
    const batch = Array.from({ length: 300 }, (_, i) => observation(i % 2 ? 'a' : 'b', i + 1, 1));
    expect(new Set(await observations.apply(manager, batch, locked))).toEqual(new Set(['applied']));
    expect(repository.lockMembers).toHaveBeenCalledTimes(1);
    expect(repository.lockMembers).toHaveBeenCalledWith(
      manager,
      ['a', 'b'],
      batch.map((o) => o.data.user_id),
    );
    expect(activateMany).toHaveBeenCalledTimes(2);
    expect(activateMany.mock.calls.map(([, group, users]) => [group.id, users.length]).sort()).toEqual([
      ['a', 150],
      ['b', 150],
    ]);
    expect(repository.recordObservedAt).toHaveBeenCalledTimes(1);
    expect(repository.recordObservedAt.mock.calls[0][1]).toHaveLength(300);
  });

  it('keeps one net change per learner and course: a move within the batch writes only where the learner ends', async () => {
    const { observations, repository, activateMany, deactivateMany } = applier();
    expect(await observations.apply(manager, [observation('a', 7, 1), observation('b', 7, 2)], locked)).toEqual([
      'applied',
      'applied',
    ]);
    expect(activateMany).toHaveBeenCalledTimes(1);
    expect(activateMany.mock.calls[0][1].id).toBe('b');
    expect(deactivateMany).not.toHaveBeenCalled();
    expect(repository.recordObservedAt.mock.calls[0][1]).toEqual([
      { groupId: 'a', userId: 7, at: new Date(T + 1000), supersededBy: null },
      { groupId: 'b', userId: 7, at: new Date(T + 2000), supersededBy: null },
    ]);
  });

  it('writes nothing but the register for stale and superseded observations', async () => {
    const rows = [
      row('a', 1, { legacyObservedAt: new Date(T + 5000) }),
      row('b', 2, { syncState: 'pending', origin: 'api' }),
    ];
    const { observations, repository, activateMany, deactivateMany } = applier(rows);
    expect(await observations.apply(manager, [observation('b', 1, 4), observation('a', 2, 6)], locked)).toEqual([
      'stale',
      'superseded',
    ]);
    expect(activateMany).not.toHaveBeenCalled();
    expect(deactivateMany).not.toHaveBeenCalled();
    expect(repository.recordObservedAt.mock.calls[0][1]).toEqual(
      expect.arrayContaining([
        { groupId: 'a', userId: 1, at: new Date(T + 5000), supersededBy: undefined },
        { groupId: 'b', userId: 2, at: new Date(T + 6000), supersededBy: 'a' },
      ]),
    );
  });

  it('answers unchanged for a group that is not locked (deleted, or unknown) and reads nothing for it', async () => {
    const { observations, repository } = applier();
    expect(await observations.apply(manager, [observation('gone', 1, 1)], new Map())).toEqual(['unchanged']);
    expect(repository.lockMembers).not.toHaveBeenCalled();
  });
});
