import { rerunDecision, RerunCandidate } from './rerun-rules';

const group = (over: Partial<RerunCandidate>): RerunCandidate => ({
  kind: 'manual',
  carryOverOnRerun: false,
  legacyKind: null,
  ...over,
});
const MODES = ['audit', 'verified'];

describe('what a rerun carries over', () => {
  it.each<[string, Partial<RerunCandidate>, readonly string[] | null, boolean, string]>([
    ['a dynamic group', { kind: 'dynamic' }, MODES, true, ''],
    ['a dynamic group, modes unknown', { kind: 'dynamic' }, null, true, ''],
    ['a manual group without the flag', { kind: 'manual' }, MODES, false, 'carry_over_on_rerun'],
    ['a manual group with the flag', { kind: 'manual', carryOverOnRerun: true }, MODES, true, ''],
    ['a cohort-linked group', { kind: 'legacy', legacyKind: 'cohort' }, MODES, true, ''],
    ['a team-linked group', { kind: 'legacy', legacyKind: 'team' }, MODES, false, 'teams belong to one run'],
    ['a team-linked group, flagged', { kind: 'legacy', legacyKind: 'team', carryOverOnRerun: true }, MODES, false, ''],
    [
      'a track the new run offers',
      { kind: 'legacy', legacyKind: 'enrollment_track', mode: 'verified' },
      MODES,
      true,
      '',
    ],
    [
      'a track the new run does not offer',
      { kind: 'legacy', legacyKind: 'enrollment_track', mode: 'professional' },
      MODES,
      false,
      'does not offer the mode "professional"',
    ],
    [
      'a track, the new run unknown',
      { kind: 'legacy', legacyKind: 'enrollment_track', mode: 'audit' },
      null,
      false,
      '',
    ],
  ])('%s', (_name, over, modes, copy, reason) => {
    const decision = rerunDecision(group(over), modes);
    expect(decision.copy).toBe(copy);
    if (reason) expect(decision.copy === false && decision.reason).toContain(reason);
  });
});
