import { LmsRejectedError } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../../legacy-sync-service.config';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LmsCohortsClient } from '../../lms/lms-cohorts.client';
import { LmsWritePauses } from '../../lms-writes/lms-write-pauses';
import { Difference, LmsChange, UserGroup } from '../legacy-kind.port';
import { CohortDirectory } from './cohort-directory';
import { CohortKind } from './cohort.kind';
import { CohortRoster, CourseRoster } from './cohort-roster';

const COURSE = 'course-v1:O+C+R';

function setup(lms: Partial<Record<keyof LmsCohortsClient, jest.Mock>>, rosters: CourseRoster[] = []) {
  const directory = { remember: jest.fn(), replace: jest.fn() };
  const config = Object.assign(new LegacySyncServiceConfig(), { LMS_COHORT_ADD_MAX_USERS: 2 });
  const kind = new CohortKind(
    { cohortSettings: jest.fn(async () => ({ is_cohorted: true })), ...lms } as unknown as LmsCohortsClient,
    directory as unknown as CohortDirectory,
    { assertWritable: jest.fn() } as unknown as LmsWritePauses,
    { read: jest.fn(async () => rosters) } as unknown as CohortRoster,
    config,
  );
  return { kind, directory };
}

const group = (name = 'Blue') =>
  ({ id: 'g1', scope_type: 'course', scope_key: COURSE, name, criteria: [] }) as unknown as UserGroup;
const link = (groupId: string, cohortId: string, legacyName = 'Blue') =>
  Object.assign(new LegacyLink(), {
    groupId,
    courseKey: COURSE,
    legacyType: 'cohort',
    legacyId: cohortId,
    legacyName,
    groupName: legacyName,
    state: 'linked',
    lastError: null,
  });
const change = (username: string, action: 'added' | 'removed', l = link('g1', '7')): LmsChange => ({
  link: l,
  userId: 1,
  username,
  action,
});

describe('the cohort kind', () => {
  it("links the course's cohort of the group's name, which existed, so its members are imported", async () => {
    const { kind, directory } = setup({
      listCohorts: jest.fn(async () => [{ id: 7, name: 'Blue' }]),
      createCohort: jest.fn(),
    });
    expect(await kind.link(group(), '{}')).toEqual({
      linkType: 'cohort',
      legacyId: '7',
      legacyName: 'Blue',
      reportedId: '7',
      existed: true,
    });
    expect(directory.remember).toHaveBeenCalledWith(COURSE, 'Blue', 7);
  });

  it('creates the cohort when the course has none of that name, and imports nothing', async () => {
    const { kind } = setup({
      listCohorts: jest.fn(async () => []),
      createCohort: jest.fn(async () => ({ id: 9, name: 'Blue' })),
    });
    expect(await kind.link(group(), '{}')).toMatchObject({ legacyId: '9', existed: false });
  });

  it('refuses a course that is not cohorted, saying how to turn cohorts on', async () => {
    const { kind } = setup({ cohortSettings: jest.fn(async () => ({ is_cohorted: false })) });
    expect(await kind.link(group(), '{}')).toEqual({
      linkType: 'cohort',
      refusal: expect.stringContaining('is not cohorted: turn cohorts on'),
    });
  });

  it('refuses a course the LMS does not know', async () => {
    const { kind } = setup({
      cohortSettings: jest.fn(async () => {
        throw new LmsRejectedError(404, undefined, 'Not found');
      }),
    });
    expect(await kind.link(group(), '{}')).toEqual({
      linkType: 'cohort',
      refusal: `the LMS does not know course ${COURSE}: Not found`,
    });
  });

  it('lets an LMS that is down throw, so the event is retried', async () => {
    const { kind } = setup({
      cohortSettings: jest.fn(async () => {
        throw new Error('ECONNREFUSED');
      }),
    });
    await expect(kind.link(group(), '{}')).rejects.toThrow('ECONNREFUSED');
  });

  it('adds to one cohort in calls of at most LMS_COHORT_ADD_MAX_USERS, and sorts the answer per learner', async () => {
    const addUsers = jest.fn(async (_c: string, _id: number, names: string[]) => ({
      added: names.filter((n) => n === 'a').map((username) => ({ username })),
      changed: [],
      present: names.filter((n) => n === 'b'),
      unknown: names.filter((n) => n === 'c'),
      invalid: [],
      preassigned: [],
    }));
    const { kind } = setup({ addUsers });
    const adds = ['a', 'b', 'c'].map((n) => change(n, 'added'));
    const calls = kind.calls(adds, []);
    expect(calls).toHaveLength(2);
    for (const call of calls) await call();
    expect(adds.map((c) => c.outcome)).toEqual([
      { status: 'synced', error: null, echoExpected: true },
      { status: 'synced', error: null, echoExpected: false },
      { status: 'rejected', error: 'LMS does not know user "c"', echoExpected: false },
    ]);
  });

  it('counts removing a learner who is not in the cohort as done', async () => {
    const { kind } = setup({
      removeUser: jest.fn(async () => {
        throw new LmsRejectedError(400, 'user-not-in-cohort', 'not in cohort');
      }),
    });
    const removal = change('a', 'removed');
    await kind.calls([], [removal])[0]();
    expect(removal.outcome).toMatchObject({ status: 'synced', error: null });
  });

  it('reads rosters: a renamed cohort shows its new name, a missing one is reported, and the name cache is refreshed', async () => {
    const roster: CourseRoster = {
      courseKey: COURSE,
      found: true,
      cohortOf: new Map(),
      cohorts: new Map([[7, { name: 'Green', members: new Map([['a', { userId: 1, username: 'a' }]]) }]]),
    };
    const { kind, directory } = setup({}, [roster]);
    const read = await kind.readRosters([link('g1', '7'), link('g2', '8')]);
    expect(read.rosters.get('g1')).toMatchObject({ name: 'Green', members: roster.cohorts.get(7)!.members });
    expect(read.rosters.get('g2')).toMatchObject({ members: null, notFound: { kind: 'cohort_not_found' } });
    expect(directory.replace).toHaveBeenCalledWith(COURSE, [{ id: 7, name: 'Green' }]);
  });

  it('takes a removal the LMS made by moving the learner into another cohort as that move', async () => {
    const roster: CourseRoster = {
      courseKey: COURSE,
      found: true,
      cohorts: new Map(),
      cohortOf: new Map([['a', 'Red']]),
    };
    const { kind } = setup({}, [roster]);
    const read = await kind.readRosters([link('g1', '7')]);
    const removed = {
      groupId: 'g1',
      courseKey: COURSE,
      userId: 1,
      username: 'a',
      side: 'group_only',
      kind: 'removed_in_lms',
      reason: 'r',
      action: 'remove_from_group',
      changedAt: null,
    } as Difference;
    expect(read.refine!([removed])[0].reason).toBe('moved in the LMS into Red, which no group mirrors');
  });
});
