import { Difference, findDrift, GroupMembership, LmsMember } from './drift';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const GRACE = 600_000;
const link = { groupId: 'g1', courseKey: 'course-v1:O+C+R', cohortId: 7 };
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function member(username: string, over: Partial<GroupMembership> = {}): GroupMembership {
  return {
    group_id: 'g1',
    user_id: username.length,
    username,
    active: true,
    origin: 'api',
    sync_state: 'synced',
    changed_at: ago(3_600_000),
    legacy_observed_at: null,
    ...over,
  };
}

function lms(...names: string[]): Map<string, LmsMember> {
  return new Map(names.map((n) => [n.toLowerCase(), { userId: null, username: n }]));
}

const only = (diffs: Difference[]) => {
  expect(diffs).toHaveLength(1);
  return diffs[0];
};

describe('findDrift: which side is right', () => {
  it('finds nothing when both sides hold the same learners (usernames compared without case)', () => {
    expect(findDrift(link, lms('Ann', 'bob'), [member('ann'), member('bob')], NOW, GRACE)).toEqual([]);
  });

  it('adds to the group a learner only the LMS has (an add no event announced)', () => {
    expect(only(findDrift(link, lms('ann'), [], NOW, GRACE))).toMatchObject({
      side: 'lms_only',
      kind: 'missing_in_group',
      action: 'add_to_group',
      username: 'ann',
    });
  });

  it('removes from the group a membership the LMS confirmed before and no longer has', () => {
    expect(only(findDrift(link, lms(), [member('ann')], NOW, GRACE))).toMatchObject({
      side: 'group_only',
      kind: 'removed_in_lms',
      action: 'remove_from_group',
    });
  });

  it('removes a learner that came from an LMS event the LMS never committed (a phantom)', () => {
    const phantom = member('ann', { origin: 'legacy', legacy_observed_at: ago(60_000), changed_at: ago(60_000) });
    expect(only(findDrift(link, lms(), [phantom], NOW, GRACE))).toMatchObject({
      kind: 'removed_in_lms',
      action: 'remove_from_group',
    });
  });

  it('leaves alone an add or a removal still in flight', () => {
    expect(
      only(findDrift(link, lms(), [member('ann', { sync_state: 'pending', changed_at: ago(5_000) })], NOW, GRACE)),
    ).toMatchObject({ kind: 'add_in_flight', action: 'none' });
    expect(
      only(
        findDrift(
          link,
          lms('ann'),
          [member('ann', { active: false, sync_state: 'pending', changed_at: ago(5_000) })],
          NOW,
          GRACE,
        ),
      ),
    ).toMatchObject({ kind: 'removal_in_flight', action: 'none' });
  });

  it('sends again an add or a removal that never reached the LMS (pending past the grace period)', () => {
    expect(
      only(findDrift(link, lms(), [member('ann', { sync_state: 'pending', changed_at: ago(GRACE + 1) })], NOW, GRACE)),
    ).toMatchObject({ kind: 'unsent_add', action: 'add_in_lms' });
    expect(
      only(
        findDrift(
          link,
          lms('ann'),
          [member('ann', { active: false, sync_state: 'pending', changed_at: ago(GRACE + 1) })],
          NOW,
          GRACE,
        ),
      ),
    ).toMatchObject({ kind: 'unsent_removal', action: 'remove_in_lms' });
  });

  it('lets the LMS win over an unsent write when it showed a newer change for the learner since', () => {
    const add = member('ann', {
      sync_state: 'pending',
      changed_at: ago(GRACE + 10_000),
      legacy_observed_at: ago(GRACE),
    });
    expect(only(findDrift(link, lms(), [add], NOW, GRACE))).toMatchObject({
      kind: 'lms_newer_than_unsent_add',
      action: 'remove_from_group',
    });
    const removal = member('ann', {
      active: false,
      sync_state: 'pending',
      changed_at: ago(GRACE + 10_000),
      legacy_observed_at: ago(GRACE),
    });
    expect(only(findDrift(link, lms('ann'), [removal], NOW, GRACE))).toMatchObject({
      kind: 'lms_newer_than_unsent_removal',
      action: 'add_to_group',
    });
  });

  it('leaves as it is an add the LMS refused', () => {
    expect(only(findDrift(link, lms(), [member('ann', { sync_state: 'rejected' })], NOW, GRACE))).toMatchObject({
      kind: 'rejected_by_lms',
      action: 'none',
    });
  });

  it('confirms a membership both sides hold whose write was never confirmed', () => {
    expect(
      only(
        findDrift(link, lms('ann'), [member('ann', { sync_state: 'pending', changed_at: ago(GRACE + 1) })], NOW, GRACE),
      ),
    ).toMatchObject({ side: 'both', kind: 'stuck_pending', action: 'confirm_in_group' });
  });

  it('re-adds to the group a learner whose removal the LMS confirmed but who is back in the cohort', () => {
    expect(
      only(findDrift(link, lms('ann'), [member('ann', { active: false, sync_state: 'synced' })], NOW, GRACE)),
    ).toMatchObject({ kind: 'missing_in_group', action: 'add_to_group', userId: 3 });
  });
});

describe('findDrift: a read that stands for an earlier time (a lagging replica)', () => {
  const readAt = NOW - 5_000; // the replica has applied the primary up to 5 s ago

  it.each([
    [
      'a fresh add the LMS confirmed inside the lag window, absent from the replica',
      lms(),
      member('ann', { origin: 'legacy', changed_at: ago(2_000), legacy_observed_at: ago(2_000) }),
    ],
    [
      'a fresh removal the LMS confirmed inside the lag window, still in the replica',
      lms('ann'),
      member('ann', { active: false, changed_at: ago(2_000), legacy_observed_at: ago(2_000) }),
    ],
  ])('leaves alone %s', (_, roster, membership) => {
    expect(only(findDrift(link, roster, [membership], NOW, GRACE, readAt))).toMatchObject({
      kind: 'changed_since_read',
      action: 'none',
    });
  });

  it('still repairs a membership whose latest change is older than the read', () => {
    expect(
      only(findDrift(link, lms(), [member('ann', { changed_at: ago(60_000) })], NOW, GRACE, readAt)),
    ).toMatchObject({ kind: 'removed_in_lms', action: 'remove_from_group' });
  });

  it('dates by the read, not by the clock: the same add read "now" would be removed', () => {
    const fresh = member('ann', { origin: 'legacy', changed_at: ago(2_000), legacy_observed_at: ago(2_000) });
    expect(only(findDrift(link, lms(), [fresh], NOW, GRACE))).toMatchObject({
      kind: 'removed_in_lms',
      action: 'remove_from_group',
    });
  });
});
