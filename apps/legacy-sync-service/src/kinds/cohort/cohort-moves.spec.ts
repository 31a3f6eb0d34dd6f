import { Difference } from '../legacy-kind.port';
import { impliedByMoves } from './cohort-moves';

describe('impliedByMoves', () => {
  const removal: Difference = {
    groupId: 'g1',
    courseKey: 'c',
    userId: 1,
    username: 'Ann',
    side: 'group_only',
    kind: 'removed_in_lms',
    reason: 'x',
    action: 'remove_from_group',
    changedAt: null,
  };

  it('leaves the removal to the add into the mirrored cohort the LMS moved the learner to', () => {
    const add: Difference = {
      ...removal,
      groupId: 'g2',
      username: 'ann',
      side: 'lms_only',
      kind: 'missing_in_group',
      action: 'add_to_group',
    };
    const [r] = impliedByMoves([removal, add], () => undefined);
    expect(r).toMatchObject({ kind: 'moved_in_lms', action: 'none' });
    expect(r.reason).toContain('g2');
  });

  it('names the unmirrored cohort the learner was moved to, and still removes', () => {
    const [r] = impliedByMoves([removal], () => 'Cohort B');
    expect(r).toMatchObject({ kind: 'removed_in_lms', action: 'remove_from_group' });
    expect(r.reason).toContain('Cohort B');
  });
});
