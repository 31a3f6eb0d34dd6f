import {
  decideObservation,
  emptyMembership,
  ExclusiveSet,
  MembershipState,
  ObservationFacts,
} from './observation-rules';

const T = Date.parse('2026-12-01T12:00:00Z');
const at = (s: number) => T + s * 1000;

function member(over: Partial<MembershipState> = {}): MembershipState {
  return { ...emptyMembership(), ...over };
}

function observe(over: Partial<ObservationFacts> = {}): ObservationFacts {
  return {
    groupId: 'a',
    action: 'added',
    observedAt: at(10),
    echoOfChangeAt: null,
    fromReconciliation: false,
    ...over,
  };
}

/** The learner's memberships of cohort-linked groups a (observed) and b (its sibling). */
function cohorts(a: Partial<MembershipState> = {}, b: Partial<MembershipState> = {}): ExclusiveSet {
  return [
    { groupId: 'a', state: member(a) },
    { groupId: 'b', state: member(b) },
  ];
}

const synced = { active: true, syncState: 'synced' as const };
const pendingAdd = { active: true, syncState: 'pending' as const };
const pendingRemoval = { active: false, syncState: 'pending' as const };

describe('decideObservation: which LMS observation changes a membership', () => {
  it.each([
    // name, observation, memberships of a and b, outcome, change
    ['joins a learner the group does not have', observe(), cohorts(), 'applied', 'added'],
    ['moves a learner from the sibling cohort', observe(), cohorts({}, synced), 'applied', 'added'],
    [
      'confirms a membership the LMS had not confirmed yet',
      observe(),
      cohorts({ active: true, syncState: null }),
      'confirmed',
      'added',
    ],
    ['changes nothing for a synced member', observe(), cohorts(synced), 'unchanged', 'added'],
    ['removes a member the LMS removed', observe({ action: 'removed' }), cohorts(synced), 'applied', 'removed'],
    ['changes nothing for a removal of a non-member', observe({ action: 'removed' }), cohorts(), 'unchanged', null],
    [
      'is stale when the set reflects a newer LMS change',
      observe(),
      cohorts({}, { ...synced, observedAt: at(20) }),
      'stale',
      null,
    ],
    ['is stale when the set reflects the same LMS change', observe(), cohorts({ observedAt: at(10) }), 'stale', null],
    [
      'is stale as the echo of a write changed since',
      observe({ echoOfChangeAt: at(1) }),
      cohorts({ ourChangeAt: at(2) }),
      'stale',
      null,
    ],
    [
      'confirms our write as its own echo',
      observe({ echoOfChangeAt: at(2) }),
      cohorts({ ...pendingAdd, ourChangeAt: at(2) }),
      'confirmed',
      'added',
    ],
    ['is superseded by our add in flight in a sibling', observe(), cohorts({}, pendingAdd), 'superseded', null],
    ['is superseded by our removal in flight of that cohort', observe(), cohorts(pendingRemoval), 'superseded', null],
    [
      'a removal is superseded by our add in flight',
      observe({ action: 'removed' }),
      cohorts(pendingAdd),
      'superseded',
      null,
    ],
    [
      'a removal is applied with an add in flight elsewhere',
      observe({ action: 'removed' }),
      cohorts(synced, pendingAdd),
      'applied',
      'removed',
    ],
    [
      'is stale from a reconciliation read before our change',
      observe({ fromReconciliation: true }),
      cohorts({}, { ...synced, ourChangeAt: at(10) }),
      'stale',
      null,
    ],
    [
      'is applied from a reconciliation read after our change',
      observe({ fromReconciliation: true }),
      cohorts({}, { ...synced, ourChangeAt: at(9) }),
      'applied',
      'added',
    ],
    [
      'ignores our clock for an observation that is no echo nor a reconciliation',
      observe(),
      cohorts({ ourChangeAt: at(99) }),
      'applied',
      'added',
    ],
  ] as const)('%s', (_name, observation, set, outcome, change) => {
    expect(decideObservation(observation, set as ExclusiveSet)).toEqual({ outcome, change });
  });

  it('leaves the states as the decision changed them, for the next observation of the batch', () => {
    const set = cohorts({}, synced);
    decideObservation(observe(), set);
    expect(set[0].state).toMatchObject({ active: true, syncState: 'synced', observedAt: at(10), supersededBy: null });
    expect(set[1].state.active).toBe(false);
    expect(decideObservation(observe({ observedAt: at(10) }), set).outcome).toBe('stale');
    expect(decideObservation(observe({ groupId: 'a', action: 'removed', observedAt: at(11) }), set)).toEqual({
      outcome: 'applied',
      change: 'removed',
    });
  });

  it('remembers a move set aside on the write in flight, for its answer', () => {
    const set = cohorts({}, pendingAdd);
    expect(decideObservation(observe(), set).outcome).toBe('superseded');
    expect(set[1].state).toMatchObject({ supersededBy: 'a', observedAt: at(10) });
    expect(set[0].state.supersededBy).toBeNull();
  });

  it('moves the register of a stale echo forward, and leaves it for a stale observation', () => {
    const echo = cohorts({ ourChangeAt: at(2) });
    decideObservation(observe({ echoOfChangeAt: at(1) }), echo);
    expect(echo[0].state.observedAt).toBe(at(10));
    const old = cohorts({ observedAt: at(20) });
    decideObservation(observe(), old);
    expect(old[0].state.observedAt).toBe(at(20));
  });

  it('decides a group with no exclusive siblings on its own membership', () => {
    expect(decideObservation(observe(), [{ groupId: 'a', state: member() }])).toEqual({
      outcome: 'applied',
      change: 'added',
    });
  });
});
