import { Injectable, Provider } from '@nestjs/common';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../../legacy-sync-service.config';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LmsCohortsClient } from '../../lms/lms-cohorts.client';
import { LmsWritePauses } from '../../lms-writes/lms-write-pauses';
import { impliedByMoves } from './cohort-moves';
import {
  Difference,
  KindRead,
  LegacyKind,
  LegacyKindWrites,
  LinkDecision,
  LinkRoster,
  LmsChange,
  UserGroup,
} from '../legacy-kind.port';
import { CohortDirectory } from './cohort-directory';
import { CohortMembershipEvents } from './cohort-membership.events';
import { CohortRoster } from './cohort-roster';

type Linked = Extract<LinkDecision, { legacyId: string }>;

/**
 * Cohorts, both ways. A group links the cohort named by id, else the course's cohort of the
 * group's name, else a new one; renames follow the group; the LMS cannot delete a cohort. Adds to
 * one cohort go in one call (the cohorts API takes a list), removals one DELETE each; a learner has
 * one cohort per course, so an add moves them.
 */
@Injectable()
export class CohortKind implements LegacyKind, LegacyKindWrites {
  readonly legacyType = 'cohort' as const;
  readonly linkTypes = ['cohort'] as const;
  readonly criterion = 'legacy_cohort';
  readonly addMovesWithinCourse = true;
  readonly writableLinkTypes = ['cohort'] as const;
  readonly writes = this;
  readonly events: CohortMembershipEvents;
  /** Providers the adapter needs besides the LMS clients. */
  static readonly providers: Provider[] = [CohortDirectory, CohortRoster];

  constructor(
    private readonly lms: LmsCohortsClient,
    private readonly directory: CohortDirectory,
    private readonly pauses: LmsWritePauses,
    private readonly roster: CohortRoster,
    private readonly config: LegacySyncServiceConfig,
  ) {
    this.events = new CohortMembershipEvents(directory);
  }

  async link(group: UserGroup, config: string): Promise<LinkDecision> {
    const requested = (JSON.parse(config || '{}') as { cohort_id?: number | null }).cohort_id ?? null;
    try {
      await this.pauses.assertWritable(group.scope_key);
      const settings = await this.lms.cohortSettings(group.scope_key);
      if (!settings.is_cohorted) {
        throw new LmsRejectedError(
          409,
          'course-not-cohorted',
          `course ${group.scope_key} is not cohorted: turn cohorts on for it in the LMS (Instructor Dashboard, Cohorts; or PUT /api/cohorts/v1/settings/{course} {"is_cohorted": true}), then create the group again`,
        );
      }
      let cohort;
      let existed = true;
      if (requested !== null) cohort = await this.lms.getCohort(group.scope_key, requested);
      else ({ cohort, existed } = await this.ensureCohort(group.scope_key, group.name));
      this.directory.remember(group.scope_key, cohort.name, cohort.id);
      return {
        linkType: 'cohort',
        legacyId: String(cohort.id),
        legacyName: cohort.name,
        reportedId: String(cohort.id),
        existed,
      };
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error; // LMS down: retry with backoff
      const refusal =
        error.status === 404 && !error.errorCode?.startsWith('cohort')
          ? `the LMS does not know course ${group.scope_key}: ${error.message}`
          : error.message;
      return { linkType: 'cohort', refusal };
    }
  }

  mirroredBy(decision: Linked, _group: UserGroup, holder: string): string {
    return `cohort ${decision.legacyId} ("${decision.legacyName}") is linked to group ${holder} already: a cohort mirrors one group`;
  }

  takenMeanwhile(decision: Linked): string {
    return `cohort ${decision.legacyId} is linked to another group already: a cohort mirrors one group`;
  }

  /** A renamed group renames its cohort, so both sides show one name. */
  async rename(link: LegacyLink, name: string): Promise<string | null> {
    await this.pauses.assertWritable(link.courseKey);
    try {
      await this.lms.renameCohort(link.courseKey, Number(link.legacyId), name);
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      return `cohort not renamed: ${error.message}`;
    }
    this.directory.remember(link.courseKey, name, Number(link.legacyId));
    return null;
  }

  /** The adds to one cohort in calls of up to `LMS_COHORT_ADD_MAX_USERS` learners; a removal each. */
  calls(adds: LmsChange[], removals: LmsChange[]): Array<() => Promise<void>> {
    const byCohort = new Map<string, LmsChange[]>();
    for (const c of adds) {
      const k = `${c.link.courseKey}|${c.link.legacyId}`;
      if (!byCohort.has(k)) byCohort.set(k, []);
      byCohort.get(k)!.push(c);
    }
    const calls: Array<() => Promise<void>> = [];
    for (const changes of byCohort.values()) {
      for (let i = 0; i < changes.length; i += this.config.LMS_COHORT_ADD_MAX_USERS) {
        const chunk = changes.slice(i, i + this.config.LMS_COHORT_ADD_MAX_USERS);
        calls.push(() => this.add(chunk));
      }
    }
    for (const c of removals) calls.push(() => this.remove(c));
    return calls;
  }

  async readRosters(links: LegacyLink[]): Promise<KindRead> {
    const wanted = new Map<string, Set<number>>();
    for (const l of links) {
      if (!wanted.has(l.courseKey)) wanted.set(l.courseKey, new Set());
      wanted.get(l.courseKey)!.add(Number(l.legacyId));
    }
    const courses = new Map((await this.roster.read(wanted)).map((r) => [r.courseKey, r]));
    // Every course read refreshes its name → id cache (a rename has no event).
    for (const roster of courses.values()) {
      if (roster.found)
        this.directory.replace(
          roster.courseKey,
          [...roster.cohorts].map(([id, c]) => ({ id, name: c.name })),
        );
    }
    const rosters = new Map<string, LinkRoster>();
    for (const link of links) {
      const roster = courses.get(link.courseKey)!;
      const cohort = roster.cohorts.get(Number(link.legacyId));
      rosters.set(
        link.groupId,
        !roster.found
          ? {
              members: null,
              notFound: { kind: 'course_not_found', reason: `the LMS does not know course ${link.courseKey}` },
            }
          : !cohort?.members
            ? {
                members: null,
                notFound: { kind: 'cohort_not_found', reason: `cohort ${link.legacyId} is not in the LMS` },
              }
            : { members: cohort.members, name: cohort.name },
      );
    }
    return {
      rosters,
      // A learner has one cohort per course: a removal the LMS made by moving them is no removal.
      refine: (differences: Difference[]) =>
        impliedByMoves(differences, (course, username) => courses.get(course)?.cohortOf.get(username.toLowerCase())),
    };
  }

  driftLabel(): string | null {
    return null;
  }

  /** Find the cohort by name first: the v1 create answers 500 on a duplicate name. */
  private async ensureCohort(courseKey: string, name: string) {
    const existing = (await this.lms.listCohorts(courseKey)).find((c) => c.name === name);
    return existing
      ? { cohort: existing, existed: true }
      : { cohort: await this.lms.createCohort(courseKey, name), existed: false };
  }

  /** One call of the cohorts API for many learners; its answer sorts them one by one. */
  private async add(changes: LmsChange[]): Promise<void> {
    const { courseKey, legacyId } = changes[0].link;
    try {
      const res = await this.lms.addUsers(
        courseKey,
        Number(legacyId),
        changes.map((c) => c.username),
      );
      // Only an add or a move emits COHORT_MEMBERSHIP_CHANGED.
      const moved = new Set([...res.added, ...res.changed].map((u) => u.username.toLowerCase()));
      const refused = new Set([...res.unknown, ...res.invalid, ...res.preassigned].map((u) => u.toLowerCase()));
      for (const c of changes) {
        const name = c.username.toLowerCase();
        c.outcome = refused.has(name)
          ? { status: 'rejected', error: `LMS does not know user "${c.username}"`, echoExpected: false }
          : { status: 'synced', error: null, echoExpected: moved.has(name) };
      }
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      for (const c of changes) c.outcome = { status: 'rejected', error: error.message, echoExpected: false };
    }
  }

  private async remove(c: LmsChange): Promise<void> {
    try {
      await this.lms.removeUser(c.link.courseKey, Number(c.link.legacyId), c.username);
      c.outcome = { status: 'synced', error: null, echoExpected: true };
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      // Removing someone who is not (or no longer) in the cohort leaves the state we wanted.
      const alreadyGone = error.errorCode === 'user-not-in-cohort';
      c.outcome = {
        status: alreadyGone ? 'synced' : 'rejected',
        error: alreadyGone ? null : error.message,
        echoExpected: alreadyGone,
      };
    }
  }
}
