import { LmsRejectedError } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../../legacy-sync-service.config';
import { LegacyLink, LinkType } from '../../links/legacy-link.entity';
import { LmsTeamsClient } from '../../lms/lms-teams.client';
import { LmsWritePauses } from '../../lms-writes/lms-write-pauses';
import { LmsChange, UserGroup } from '../legacy-kind.port';
import { TeamKind } from './team.kind';
import { TeamRoster } from './team-roster';

const COURSE = 'course-v1:O+C+R';

function setup(teams: Record<string, jest.Mock>, emitsEvents = false, read = new Map()) {
  const config = Object.assign(new LegacySyncServiceConfig(), { LMS_EMITS_TEAM_EVENTS: emitsEvents });
  return new TeamKind(
    teams as unknown as LmsTeamsClient,
    { assertWritable: jest.fn() } as unknown as LmsWritePauses,
    { read: jest.fn(async () => read) } as unknown as TeamRoster,
    config,
  );
}

const group = {
  id: 'g1',
  scope_type: 'course',
  scope_key: COURSE,
  name: 'Robots',
  criteria: [],
} as unknown as UserGroup;
const link = (legacyType: LinkType = 'team', legacyId = 'robots') =>
  Object.assign(new LegacyLink(), {
    groupId: 'g1',
    courseKey: COURSE,
    legacyType,
    legacyId,
    legacyName: 'Robots',
    groupName: 'Robots',
    state: 'linked',
    lastError: null,
  });
const change = (action: 'added' | 'removed'): LmsChange => ({ link: link(), userId: 1, username: 'a', action });

describe('the team kind', () => {
  it('refuses a team of another course', async () => {
    const kind = setup({
      getTeam: jest.fn(async () => ({ id: 'robots', name: 'Robots', course_id: 'course-v1:X+Y+Z' })),
    });
    expect(await kind.link(group, JSON.stringify({ team_id: 'robots' }))).toEqual({
      linkType: 'team',
      refusal: `team robots belongs to course-v1:X+Y+Z, not to ${COURSE}`,
    });
  });

  it('creates a team named after the group in the teamset, with nothing to import', async () => {
    const kind = setup({
      teamNamed: jest.fn(async () => null),
      createTeam: jest.fn(async () => ({ id: 'robots-1', name: 'Robots' })),
    });
    expect(await kind.link(group, JSON.stringify({ teamset_id: 'projects' }))).toEqual({
      linkType: 'team',
      legacyId: 'robots-1',
      legacyName: 'Robots',
      reportedId: 'robots-1',
      existed: false,
    });
  });

  it('links a whole teamset read-only, naming no team to groups-service', async () => {
    const kind = setup({ teamsets: jest.fn(async () => [{ id: 'projects', name: 'Projects' }]) });
    expect(await kind.link(group, JSON.stringify({ teamset_id: 'projects', whole_teamset: true }))).toEqual({
      linkType: 'teamset',
      legacyId: 'projects',
      legacyName: 'Projects',
      reportedId: null,
      existed: true,
    });
    expect(kind.writableLinkTypes).not.toContain('teamset');
  });

  it('makes one call per learner, and reverts an add the LMS refuses with its own words', async () => {
    const kind = setup({
      addMember: jest.fn(async () => {
        throw new LmsRejectedError(
          400,
          undefined,
          'LMS POST /api/team/v0/team_membership/: 400 This team is already full.',
        );
      }),
    });
    const adds = [change('added'), change('added')];
    const calls = kind.calls(adds, []);
    expect(calls).toHaveLength(2);
    await calls[0]();
    expect(adds[0].outcome).toEqual({ status: 'rejected', error: 'This team is already full.', echoExpected: false });
  });

  it('expects an echo of an add only from an LMS that emits team events', async () => {
    const add = change('added');
    await setup({ addMember: jest.fn(async () => undefined) }, true).calls([add], [])[0]();
    expect(add.outcome).toEqual({ status: 'synced', error: null, echoExpected: true });
  });

  it('counts removing a learner who is not on the team (404) as done', async () => {
    const removal = change('removed');
    await setup({
      removeMember: jest.fn(async () => {
        throw new LmsRejectedError(404, undefined, 'gone');
      }),
    }).calls([], [removal])[0]();
    expect(removal.outcome).toMatchObject({ status: 'synced' });
  });

  it('deletes the team of a deleted group, never a whole teamset', async () => {
    const deleteTeam = jest.fn(async () => undefined);
    const kind = setup({ deleteTeam });
    await kind.deleteLegacyGroup(link('teamset', 'projects'));
    await kind.deleteLegacyGroup(link());
    expect(deleteTeam.mock.calls).toEqual([['robots']]);
  });

  it('reports a team the LMS no longer has, and speaks of the team in the drift reasons', async () => {
    const kind = setup({}, false, new Map([['g1', { groupId: 'g1', members: null }]]));
    const read = await kind.readRosters([link()]);
    expect(read.rosters.get('g1')).toMatchObject({
      members: null,
      notFound: { kind: 'team_not_found', reason: 'team robots is not in the LMS' },
    });
    expect(kind.driftLabel(link('teamset'))).toBe('teamset');
  });
});
