import { Difference, LmsMember } from '../kinds/legacy-kind.port';

export type { Difference, DriftKind, LmsMember, RepairAction } from '../kinds/legacy-kind.port';

/** A membership as groups-service holds it (`POST /api/user-groups/v1/memberships/search`). */
export interface GroupMembership {
  group_id: string;
  user_id: number;
  username: string;
  active: boolean;
  origin: string;
  sync_state: 'pending' | 'synced' | 'rejected' | null;
  changed_at: string;
  legacy_observed_at: string | null;
}

/** The group a legacy group (cohort, team, track) is linked to. */
export interface LinkedGroup {
  groupId: string;
  courseKey: string;
}

/**
 * The rule that decides which side is right, for one linked cohort. The LMS is where a cohort takes
 * effect, so it wins unless we know better:
 * - a learner the LMS has and the group does not: added in the LMS by a change we never heard of
 *   (a lost event, a link to an existing cohort): add to the group; unless our removal is still in
 *   flight (leave it), or never reached the LMS (pending past the grace period: send it again,
 *   unless the LMS showed a newer change for that learner since);
 * - a learner the group has and the LMS does not: a membership the LMS confirmed before (synced,
 *   or that came from the LMS) and no longer has was removed there (no event exists for that) or
 *   was a phantom (an event for an add the LMS rolled back): remove from the group; an add still in
 *   flight is left alone; an add that never reached the LMS is sent again, unless the LMS showed a
 *   newer change for the learner since (then the LMS wins); an add the LMS refused stays as it is;
 * - in both: a membership still pending past the grace period is confirmed.
 * "In flight" means pending for less than `graceMs`; "newer" compares the LMS's time of its latest
 * observation of the learner with the time of our change.
 * `readAt` is the time the LMS read stands for (a replica's: behind `now`). A membership that
 * changed on either side after it cannot show in that read, so it is left alone until a later run.
 */
export function findDrift(
  link: LinkedGroup,
  lms: Map<string, LmsMember>,
  memberships: GroupMembership[],
  now: number,
  graceMs: number,
  readAt = now,
): Difference[] {
  const byName = new Map(memberships.map((m) => [m.username.toLowerCase(), m]));
  const out: Difference[] = [];
  const diff = (
    m: GroupMembership | undefined,
    lmsMember: LmsMember | undefined,
    d: Pick<Difference, 'side' | 'kind' | 'reason' | 'action'>,
  ) =>
    out.push({
      groupId: link.groupId,
      courseKey: link.courseKey,
      userId: m?.user_id ?? lmsMember?.userId ?? null,
      username: m?.username ?? lmsMember!.username,
      changedAt: m?.changed_at ?? null,
      ...d,
    });
  const pendingAge = (m: GroupMembership) => (m.sync_state === 'pending' ? now - Date.parse(m.changed_at) : null);
  const lmsNewer = (m: GroupMembership) =>
    m.legacy_observed_at !== null && Date.parse(m.legacy_observed_at) > Date.parse(m.changed_at);

  for (const [name, lmsMember] of lms) {
    const m = byName.get(name);
    if (m?.active) {
      const age = pendingAge(m);
      if (age !== null && age > graceMs)
        diff(m, lmsMember, {
          side: 'both',
          kind: 'stuck_pending',
          reason: 'the LMS has the learner; the write was never confirmed',
          action: 'confirm_in_group',
        });
      continue;
    }
    const age = m ? pendingAge(m) : null;
    if (m && age !== null && age <= graceMs) {
      diff(m, lmsMember, {
        side: 'lms_only',
        kind: 'removal_in_flight',
        reason: 'our removal is still on its way to the LMS',
        action: 'none',
      });
    } else if (m && age !== null) {
      diff(
        m,
        lmsMember,
        lmsNewer(m)
          ? {
              side: 'lms_only',
              kind: 'lms_newer_than_unsent_removal',
              reason: 'our removal never reached the LMS, which added the learner again since',
              action: 'add_to_group',
            }
          : {
              side: 'lms_only',
              kind: 'unsent_removal',
              reason: 'our removal never reached the LMS',
              action: 'remove_in_lms',
            },
      );
    } else {
      diff(m, lmsMember, {
        side: 'lms_only',
        kind: 'missing_in_group',
        reason: 'in the cohort in the LMS, not in the group (a change no event announced)',
        action: 'add_to_group',
      });
    }
  }

  for (const m of memberships) {
    if (!m.active || lms.has(m.username.toLowerCase())) continue;
    const age = pendingAge(m);
    if (age !== null && age <= graceMs) {
      diff(m, undefined, {
        side: 'group_only',
        kind: 'add_in_flight',
        reason: 'our add is still on its way to the LMS',
        action: 'none',
      });
    } else if (age !== null) {
      diff(
        m,
        undefined,
        lmsNewer(m)
          ? {
              side: 'group_only',
              kind: 'lms_newer_than_unsent_add',
              reason: 'our add never reached the LMS, which showed a newer change for the learner since',
              action: 'remove_from_group',
            }
          : { side: 'group_only', kind: 'unsent_add', reason: 'our add never reached the LMS', action: 'add_in_lms' },
      );
    } else if (m.sync_state === 'rejected') {
      diff(m, undefined, {
        side: 'group_only',
        kind: 'rejected_by_lms',
        reason: "the LMS refused this add; see the membership's sync error",
        action: 'none',
      });
    } else {
      diff(m, undefined, {
        side: 'group_only',
        kind: 'removed_in_lms',
        reason: 'not in the cohort in the LMS (removed there, or an add the LMS never committed)',
        action: 'remove_from_group',
      });
    }
  }
  return out.map((d) => {
    const m = byName.get(d.username.toLowerCase());
    const latest = m
      ? Math.max(Date.parse(m.changed_at), m.legacy_observed_at === null ? 0 : Date.parse(m.legacy_observed_at))
      : 0;
    return d.action === 'none' || latest <= readAt
      ? d
      : {
          ...d,
          kind: 'changed_since_read',
          reason: `changed after the LMS read (${new Date(readAt).toISOString()}) was taken: ${d.reason}; left for a later run`,
          action: 'none',
        };
  });
}
