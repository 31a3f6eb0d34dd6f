import { DecodedEvent, LegacySyncCompletedData, LegacyType, UserGroupData } from '@groups-sync/contracts';
import { LegacyLink, LinkType } from '../links/legacy-link.entity';

/** A learner as the LMS lists them in a cohort (the REST list names no user id). */
export interface LmsMember {
  userId: number | null;
  username: string;
}

/** What to do about a difference: on the group's side, in the LMS, or nothing. */
export type RepairAction =
  'add_to_group' | 'remove_from_group' | 'add_in_lms' | 'remove_in_lms' | 'confirm_in_group' | 'none';

export type DriftKind =
  | 'missing_in_group'
  | 'removed_in_lms'
  | 'unsent_add'
  | 'unsent_removal'
  | 'lms_newer_than_unsent_add'
  | 'lms_newer_than_unsent_removal'
  | 'add_in_flight'
  | 'removal_in_flight'
  | 'rejected_by_lms'
  | 'stuck_pending'
  | 'moved_in_lms'
  | 'changed_since_read';

export interface Difference {
  groupId: string;
  courseKey: string;
  userId: number | null;
  username: string;
  /** Where the learner is: only in the LMS cohort, only in the group, or in both. */
  side: 'lms_only' | 'group_only' | 'both';
  kind: DriftKind;
  reason: string;
  action: RepairAction;
  /** groups-service's time of the membership's latest change, when it has one. */
  changedAt: string | null;
}

export type UserGroup = UserGroupData['user_group'];
export type SyncResult = LegacySyncCompletedData['sync_result'];

/** The legacy group a new group asked for, as the kind found or made it in the LMS. */
export type LinkDecision =
  | { linkType: LinkType; refusal: string }
  | {
      linkType: LinkType;
      refusal?: undefined;
      legacyId: string;
      legacyName: string | null;
      /** What `legacy_sync.completed.v1` names (a whole teamset names no team). */
      reportedId: string | null;
      /** It existed before the link: its members are imported (a reconciliation run of the group). */
      existed: boolean;
    };

/** One learner into or out of a linked legacy group, as the sync or a reconciliation repair sends it. */
export interface LmsChange {
  link: LegacyLink;
  userId: number;
  username: string;
  action: 'added' | 'removed';
  /** What the LMS answered, set by the kind's call; unset when the call failed (the LMS is down). */
  outcome?: { status: 'synced' | 'rejected'; error: string | null; echoExpected: boolean };
}

/** A linked legacy group's learners as the LMS holds them (the reconciler dates the read). */
export interface LinkRoster {
  /** By lower-case username; null when the LMS has no such legacy group (reported as `notFound`). */
  members: Map<string, LmsMember> | null;
  notFound?: { kind: string; reason: string };
  /** The legacy group's name in the LMS, where the kind follows renames made there (no event tells). */
  name?: string;
}

/** One step's LMS read of a kind's links. */
export interface KindRead {
  rosters: Map<string, LinkRoster>;
  /** Rules across the links of the step (a learner's move between cohorts), applied to the kind's differences. */
  refine?(differences: Difference[]): Difference[];
}

/** The LMS-writing half of a kind; read-only kinds (tracks, whole teamsets) have none. */
export interface LegacyKindWrites {
  /** The link types written to (a whole teamset is read-only). */
  readonly writableLinkTypes: readonly LinkType[];
  /**
   * The calls that send these changes (adds are recorded as pending writes already), as few as the
   * LMS's API allows; each sets its changes' outcomes. The pipeline runs them side by side.
   */
  calls(adds: LmsChange[], removals: LmsChange[]): Array<() => Promise<void>>;
  /**
   * Adding a learner to one of the course's legacy groups of this kind moves them out of the
   * others (cohorts): the removal half of a move into such a group is not sent.
   */
  readonly addMovesWithinCourse: boolean;
}

/** What an LMS event says happened to a learner in one linked legacy group. */
export interface Observed {
  link: LegacyLink;
  action: 'added' | 'removed';
}

/** How a kind reads the LMS's events about its legacy groups (kinds whose LMS emits none have no such part). */
export interface LegacyKindEvents<E extends DecodedEvent = DecodedEvent> {
  /** Throws PoisonMessageError for an event that lacks what the kind needs. */
  check(event: E): void;
  courseOf(event: E): string;
  userOf(event: E): { id: number; username: string };
  /**
   * The linked legacy groups each event is about (links: the linked ones of the events' courses),
   * and what it says happened in each; outside the transaction, so it may ask the LMS.
   */
  observe(events: E[], links: LegacyLink[]): Promise<Map<E, Observed[]>>;
}

/**
 * One kind of legacy group (cohort, team, enrollment track): everything the kind-agnostic
 * pipelines (linking, LMS writes, reconciliation) need to know about it. Adapters live in
 * `kinds/<kind>/`, and `LegacyKinds` (the registry) lists them.
 */
export interface LegacyKind {
  /** The kind's name in `legacy_sync.completed.v1`. */
  readonly legacyType: LegacyType;
  /** The `legacy_link.legacy_type` values the kind owns (a team kind owns teams and whole teamsets). */
  readonly linkTypes: readonly LinkType[];
  /** The group criterion that links a group to this kind. */
  readonly criterion: string;
  /**
   * The LMS emits no events for it by default (teams): its links are reconciled on their own
   * schedule too (run scope `teams`, every `RECONCILE_TEAMS_EVERY_SECONDS`).
   */
  readonly reconciledOnItsOwn?: boolean;

  /**
   * Validates the criterion's config against the LMS and finds or makes the legacy group. A refusal
   * of the LMS (LmsRejectedError) becomes a `refusal`; anything else is thrown (retried).
   */
  link(group: UserGroup, config: string): Promise<LinkDecision>;
  /** Why the link is refused when another group (`holder`) mirrors that legacy group. */
  mirroredBy(decision: Extract<LinkDecision, { legacyId: string }>, group: UserGroup, holder: string): string;
  /** Why the link is refused when the unique key says another group took it between check and write. */
  takenMeanwhile(decision: Extract<LinkDecision, { legacyId: string }>, group: UserGroup): string;
  /** Follows a group rename in the LMS; answers the LMS's refusal, or null. Absent: names are not followed. */
  rename?(link: LegacyLink, name: string): Promise<string | null>;
  /** What deleting the group does in the LMS (unless unlinked). Absent: the link is only forgotten. */
  deleteLegacyGroup?(link: LegacyLink): Promise<void>;

  /** Absent for read-only kinds. */
  readonly writes?: LegacyKindWrites;
  /** Absent where the LMS emits no events about the kind (reconciliation alone covers it). */
  readonly events?: LegacyKindEvents;

  /** Reads the learners of a step's links of this kind from the LMS. */
  readRosters(links: LegacyLink[]): Promise<KindRead>;
  /** The drift rules speak of "the cohort": what to call this link's legacy group instead (null: a cohort). */
  driftLabel(link: LegacyLink): string | null;
}
