import { SyncState } from '../memberships/membership.entity';

export type ObservationOutcome = 'applied' | 'confirmed' | 'unchanged' | 'stale' | 'superseded';

/**
 * A membership as the rules see it: read from its row (or none yet), then as the batch's earlier
 * observations left it. Times are milliseconds.
 */
export interface MembershipState {
  active: boolean;
  syncState: SyncState | null;
  /** The LMS's time of the latest observation this membership reflects (`legacy_observed_at`). */
  observedAt: number | null;
  /** When this membership last changed by our own hand; null when its latest change came from the LMS. */
  ourChangeAt: number | null;
  /** The group of an LMS move set aside for our write in flight: undefined leaves the stored value, null clears it. */
  supersededBy?: string | null;
}

/** One LMS observation, as the rules need it. */
export interface ObservationFacts {
  groupId: string;
  action: 'added' | 'removed';
  /** The LMS's time of the change (its event's ce_time). */
  observedAt: number;
  /** For the echo of one of our writes: that write's time (our clock). */
  echoOfChangeAt: number | null;
  /** A difference a reconciliation run found: `observedAt` is when it read the LMS. */
  fromReconciliation: boolean;
}

/** The learner's membership of the observed group first, then of each group exclusive with it. */
export type ExclusiveSet = Array<{ groupId: string; state: MembershipState }>;

export interface ObservationDecision {
  outcome: ObservationOutcome;
  /** The change to make: the learner joins the group (and leaves the set's others), or leaves it. */
  change: 'added' | 'removed' | null;
}

export const emptyMembership = (): MembershipState => ({
  active: false,
  syncState: null,
  observedAt: null,
  ourChangeAt: null,
});

/**
 * Decides one LMS observation of a learner in a cohort, against the learner's memberships of the
 * exclusive set, and moves those states to what the decision leaves (the next observation of the
 * batch is decided on them). The LMS is where a learner's cohort takes effect, so both sides end
 * where the LMS ends:
 * - later change wins on the LMS's clock alone: an observation no newer than the latest one the
 *   set reflects is stale; so is the echo of one of our writes (our clock) when the membership has
 *   changed by our hand since;
 * - a difference a reconciliation run found is stale when any membership of the set changed by our
 *   hand at or after that read;
 * - while one of our writes is in flight (a `pending` add in the set, or a pending change of this
 *   very membership), an observation of another state came before that write in the LMS's order:
 *   it is superseded (an add set aside for our add elsewhere is remembered there, for the write's
 *   answer); the echo itself confirms the write;
 * - otherwise it is applied: the learner joins the group and leaves the set's others (origin
 *   `legacy`, nothing sent back to the LMS), or leaves the group.
 * Pure: the applier reads every state in one locking read and writes the outcomes in bulk.
 */
export function decideObservation(o: ObservationFacts, set: ExclusiveSet): ObservationDecision {
  const self = set[0].state;
  const register = Math.max(...set.map((x) => x.state.observedAt ?? -Infinity));
  if (o.observedAt <= register) return { outcome: 'stale', change: null };
  // The LMS has the learner in this group again, after any move set aside for a write of ours
  // in flight here: that move is no longer the latest thing the LMS did.
  if (o.action === 'added') self.supersededBy = null;
  // The echo of one of our writes that we have changed this membership again since (our own
  // clock; changes the LMS made do not count): that newer change reaches the LMS after it.
  if (self.ourChangeAt !== null && o.echoOfChangeAt !== null && self.ourChangeAt > o.echoOfChangeAt) {
    self.observedAt = o.observedAt;
    return { outcome: 'stale', change: null };
  }
  // Reconciliation read the LMS before a change of ours (to this learner in the course) that it could not see.
  if (o.fromReconciliation && set.some((x) => x.state.ourChangeAt !== null && x.state.ourChangeAt >= o.observedAt))
    return { outcome: 'stale', change: null };
  const pendingAdd = set.find((x) => x.state.active && x.state.syncState === 'pending');
  const superseded =
    o.action === 'added'
      ? pendingAdd && pendingAdd.groupId !== o.groupId
        ? pendingAdd.state
        : !self.active && self.syncState === 'pending'
          ? self
          : undefined
      : self.active && self.syncState === 'pending'
        ? self
        : undefined;
  if (superseded) {
    superseded.observedAt = o.observedAt;
    // Kept for our write's answer: if the LMS changed nothing (no echo to come), this
    // observation came after the write and is applied then (SyncResults).
    if (superseded !== self) superseded.supersededBy = o.groupId;
    return { outcome: 'superseded', change: null };
  }
  if (o.action === 'added') {
    const outcome = self.active ? (self.syncState === 'synced' ? 'unchanged' : 'confirmed') : 'applied';
    for (const x of set.slice(1)) x.state.active = false;
    Object.assign(self, { active: true, syncState: 'synced', observedAt: o.observedAt });
    return { outcome, change: 'added' };
  }
  self.observedAt = o.observedAt;
  if (!self.active) return { outcome: 'unchanged', change: null };
  self.active = false;
  return { outcome: 'applied', change: 'removed' };
}
