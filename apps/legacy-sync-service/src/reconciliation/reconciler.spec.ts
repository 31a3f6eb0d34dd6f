import { DataSource } from 'typeorm';
import { EventType } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { FakeKind } from '../kinds/fake.kind';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';
import { LmsChangesSender } from '../kinds/lms-changes.sender';
import { LmsWritePauses } from '../lms-writes/lms-write-pauses';
import { GroupMembership } from './drift';
import { DriftRepairs } from './drift-repairs.service';
import { GroupMembershipsClient } from './group-memberships.client';
import { LmsDatabase } from '../lms/lms-database';
import { Reconciler, RunRow } from './reconciler';

const COURSE = 'course-v1:O+C+R';
const READ_AT = new Date('2026-12-01T10:00:00Z');
const run: RunRow = {
  id: 'run-1',
  scope_type: 'course',
  scope_key: COURSE,
  dry_run: false,
  trigger_kind: 'api',
  requested_by: 'staff',
};
const member = (username: string, userId: number) => ({ userId, username });
const membership = (groupId: string, username: string, extra: Partial<GroupMembership> = {}): GroupMembership => ({
  group_id: groupId,
  user_id: username.length,
  username,
  active: true,
  origin: 'api',
  sync_state: 'synced',
  changed_at: '2026-11-01T00:00:00Z',
  legacy_observed_at: null,
  ...extra,
});

function setup(
  links: Array<{ group_id: string; legacy_type: string; legacy_name?: string }>,
  memberships: GroupMembership[],
) {
  const kind = new FakeKind();
  const queries: Array<[string, unknown[]]> = [];
  const appended: Array<[EventType, unknown[]]> = [];
  const dataSource = {
    query: jest.fn(async (sql: string, args: unknown[]) => {
      queries.push([sql, args]);
      return sql.includes('FROM legacy_link')
        ? links.map((l) => ({ course_key: COURSE, legacy_id: '1', legacy_name: 'one', group_name: l.group_id, ...l }))
        : [];
    }),
    transaction: jest.fn(async (work: (m: unknown) => Promise<void>) => work({})),
  } as unknown as DataSource;
  const kinds = new LegacyKinds([kind]);
  const config = Object.assign(new LegacySyncServiceConfig(), {
    RECONCILE_PENDING_GRACE_SECONDS: 600,
    LMS_CONCURRENCY: 2,
  });
  const sender = new LmsChangesSender(
    {
      getRepository: () => ({
        insert: async (rows: unknown[]) => ({ identifiers: rows.map((_, i) => ({ id: i })) }),
        delete: async () => undefined,
      }),
    } as unknown as DataSource,
    kinds,
    config,
  );
  const repairs = new DriftRepairs(
    dataSource,
    kinds,
    sender,
    { userIds: async () => new Map() } as unknown as LmsCohortsClient,
    { isPaused: async () => false } as unknown as LmsWritePauses,
    {
      appendMany: async (_m: unknown, type: EventType, data: unknown[]) => appended.push([type, data]),
    } as unknown as OutboxWriter,
  );
  const reconciler = new Reconciler(
    dataSource,
    kinds,
    { of: async () => ({ memberships, missing: new Set<string>() }) } as unknown as GroupMembershipsClient,
    repairs,
    config,
    { pool: null, readAt: async () => READ_AT } as unknown as LmsDatabase,
  );
  return { kind, reconciler, queries, appended };
}

const reported = (queries: Array<[string, unknown[]]>) =>
  queries
    .filter(([sql]) => sql.startsWith('INSERT INTO reconciliation_difference'))
    .flatMap(([, args]) => {
      const rows: unknown[][] = [];
      for (let i = 0; i < args.length; i += 10) rows.push(args.slice(i, i + 10));
      return rows.map(([, , group, , username, , kind, reason, action, outcome]) => ({
        group,
        username,
        kind,
        reason,
        action,
        outcome,
      }));
    });

describe('a reconciliation run, whatever the kind', () => {
  it('reads only the link types some kind owns', async () => {
    const { reconciler, queries } = setup([], []);
    await reconciler.execute(run, async () => undefined);
    expect(queries[0][1][0]).toEqual(['cohort', 'teamset']);
  });

  it("adds to the group what only the LMS has, dated by what the LMS read stands for, in the kind's words", async () => {
    const { kind, reconciler, queries, appended } = setup([{ group_id: 'g1', legacy_type: 'cohort' }], []);
    kind.rosters.set('g1', { members: new Map([['ann', member('ann', 3)]]) });
    const summary = await reconciler.execute(run, async () => undefined);
    expect(summary).toMatchObject({
      groups_compared: 1,
      differences_found: 1,
      repaired_by_kind: { missing_in_group: 1 },
    });
    expect(reported(queries)).toEqual([
      expect.objectContaining({
        group: 'g1',
        username: 'ann',
        kind: 'missing_in_group',
        reason: expect.stringContaining('in the fake in the LMS'),
        outcome: 'repaired',
      }),
    ]);
    expect(appended[0]).toEqual([
      EventType.LegacyMembershipObserved,
      [
        expect.objectContaining({
          observation: expect.objectContaining({ action: 'added', observed_at: READ_AT.toISOString() }),
        }),
      ],
    ]);
  });

  it('leaves alone a membership changed after the time the LMS read stands for (a lagging replica cannot show it)', async () => {
    const fresh = { origin: 'legacy', changed_at: '2026-12-01T10:00:03Z', legacy_observed_at: '2026-12-01T10:00:03Z' };
    const { kind, reconciler, queries, appended } = setup(
      [{ group_id: 'g1', legacy_type: 'cohort' }],
      [membership('g1', 'ann', fresh)],
    );
    kind.rosters.set('g1', { members: new Map() }); // the replica has not applied ann's add yet
    await reconciler.execute(run, async () => undefined);
    expect(reported(queries)).toEqual([
      expect.objectContaining({
        group: 'g1',
        username: 'ann',
        kind: 'changed_since_read',
        action: 'none',
        outcome: 'left_alone',
      }),
    ]);
    expect(appended).toEqual([]);
  });

  it("sends an add that never reached the LMS through the kind, and reports the LMS's refusal", async () => {
    const old = { sync_state: 'pending' as const, changed_at: '2026-11-01T00:00:00Z' };
    const { kind, reconciler, queries, appended } = setup(
      [{ group_id: 'g1', legacy_type: 'cohort' }],
      [membership('g1', 'bob', old), membership('g1', 'cy', old)],
    );
    kind.rosters.set('g1', { members: new Map() });
    kind.answer = (c) =>
      c.username === 'cy'
        ? { status: 'rejected', error: 'full', echoExpected: false }
        : { status: 'synced', error: null, echoExpected: true };
    await reconciler.execute(run, async () => undefined);
    expect(kind.sent.map((c) => c.map((x) => [x.username, x.action]))).toEqual([
      [
        ['bob', 'added'],
        ['cy', 'added'],
      ],
    ]);
    expect(reported(queries).map((d) => [d.username, d.kind, d.outcome])).toEqual([
      ['bob', 'unsent_add', 'repaired'],
      ['cy', 'unsent_add', 'rejected by the LMS: full'],
    ]);
    expect(appended.find(([type]) => type === EventType.LegacySyncCompleted)![1]).toHaveLength(2);
  });

  it('leaves an LMS that is down for the next run', async () => {
    const { kind, reconciler, queries } = setup(
      [{ group_id: 'g1', legacy_type: 'cohort' }],
      [membership('g1', 'bob', { sync_state: 'pending' })],
    );
    kind.rosters.set('g1', { members: new Map() });
    kind.answer = () => {
      throw new Error('ECONNRESET');
    };
    await reconciler.execute(run, async () => undefined);
    expect(reported(queries).map((d) => d.outcome)).toEqual(['failed: ECONNRESET']);
  });

  it('reports a legacy group the LMS no longer has, and a rename made in the LMS', async () => {
    const { kind, reconciler, queries } = setup(
      [
        { group_id: 'g1', legacy_type: 'teamset' },
        { group_id: 'g2', legacy_type: 'cohort' },
      ],
      [],
    );
    kind.rosters.set('g1', { members: null, notFound: { kind: 'teamset_not_found', reason: 'gone' } });
    kind.rosters.set('g2', { members: new Map(), name: 'two' });
    await reconciler.execute(run, async () => undefined);
    expect(reported(queries).map((d) => [d.group, d.kind, d.action])).toEqual([
      ['g1', 'teamset_not_found', 'none'],
      ['g2', 'cohort_renamed', 'update_link'],
    ]);
    expect(
      queries.some(([sql, args]) => sql.startsWith('UPDATE legacy_link SET legacy_name') && args[0] === 'two'),
    ).toBe(true);
  });
});
