import { Injectable, Logger, Provider } from '@nestjs/common';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../../legacy-sync-service.config';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LmsTeamsClient } from '../../lms/lms-teams.client';
import { LmsWritePauses } from '../../lms-writes/lms-write-pauses';
import { KindRead, LegacyKind, LegacyKindWrites, LinkDecision, LmsChange, UserGroup } from '../legacy-kind.port';
import { TeamMembershipEvents } from './team-membership.events';
import { teamRefusal } from './team-refusal';
import { TeamRoster } from './team-roster';

interface TeamConfig {
  team_id?: string | null;
  teamset_id?: string | null;
  whole_teamset?: boolean | null;
}
type Linked = Extract<LinkDecision, { legacyId: string }>;

/**
 * Teams, both ways, and whole teamsets, read-only (link type `teamset`). The teams API adds and
 * removes one learner a call; its refusals (team full, already on a team of the teamset, not
 * enrolled, an instructor-managed teamset) revert the membership with the LMS's message. Deleting a
 * team-linked group deletes its team (staff only); a whole teamset is never deleted.
 */
@Injectable()
export class TeamKind implements LegacyKind, LegacyKindWrites {
  private readonly logger = new Logger(TeamKind.name);
  readonly legacyType = 'team' as const;
  readonly linkTypes = ['team', 'teamset'] as const;
  readonly criterion = 'legacy_team';
  readonly reconciledOnItsOwn = true;
  readonly writableLinkTypes = ['team'] as const;
  readonly addMovesWithinCourse = false;
  readonly writes = this;
  /** Only where the LMS emits the proposed team events (LMS_EMITS_TEAM_EVENTS); else reconciliation on its own schedule. */
  readonly events = new TeamMembershipEvents();
  static readonly providers: Provider[] = [TeamRoster];

  constructor(
    private readonly teams: LmsTeamsClient,
    private readonly pauses: LmsWritePauses,
    private readonly roster: TeamRoster,
    private readonly config: LegacySyncServiceConfig,
  ) {}

  /**
   * The team named by `team_id` (it must be in the group's course), or a new team named after the
   * group in `teamset_id` (an existing team of that name there is taken, so a retried link creates
   * no second team); or, with `whole_teamset`, every team of the teamset.
   */
  async link(group: UserGroup, raw: string): Promise<LinkDecision> {
    const config = JSON.parse(raw || '{}') as TeamConfig;
    const whole = config.whole_teamset === true && !!config.teamset_id;
    const linkType = whole ? 'teamset' : 'team';
    try {
      await this.pauses.assertWritable(group.scope_key);
      if (config.team_id) {
        const team = await this.teams.getTeam(config.team_id);
        if (team.course_id !== group.scope_key)
          throw new LmsRejectedError(
            409,
            'team-of-another-course',
            `team ${team.id} belongs to ${team.course_id}, not to ${group.scope_key}`,
          );
        return { linkType, legacyId: team.id, legacyName: team.name, reportedId: team.id, existed: true };
      }
      if (whole) {
        const teamset = (await this.teams.teamsets(group.scope_key)).find((t) => t.id === config.teamset_id);
        if (!teamset)
          throw new LmsRejectedError(
            404,
            'teamset-not-found',
            `course ${group.scope_key} has no teamset "${config.teamset_id}"`,
          );
        // A whole teamset names no team: groups-service records nothing for it.
        return { linkType, legacyId: teamset.id, legacyName: teamset.name, reportedId: null, existed: true };
      }
      const found = await this.teams.teamNamed(group.scope_key, config.teamset_id!, group.name);
      const team = found ?? (await this.teams.createTeam(group.scope_key, config.teamset_id!, group.name));
      return { linkType, legacyId: team.id, legacyName: team.name, reportedId: team.id, existed: !!found };
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error; // LMS down: retry with backoff
      return {
        linkType,
        refusal:
          error.status === 404 && !error.errorCode
            ? `the LMS does not know this team or course: ${error.message}`
            : error.message,
      };
    }
  }

  mirroredBy(decision: Linked, _group: UserGroup, holder: string): string {
    return `${decision.linkType} ${decision.legacyId} is mirrored by group ${holder} already: a ${decision.linkType} mirrors one group`;
  }

  takenMeanwhile(decision: Linked): string {
    return `${decision.linkType} ${decision.legacyId} is mirrored by another group already`;
  }

  /** A team-linked group's team goes with it; a refusal other than "already gone" is logged. */
  async deleteLegacyGroup(link: LegacyLink): Promise<void> {
    if (link.legacyType !== 'team') return;
    try {
      await this.pauses.assertWritable(link.courseKey);
      await this.teams.deleteTeam(link.legacyId!);
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      if (error.status !== 404) this.logger.warn(`team ${link.legacyId} not deleted: ${error.message}`);
    }
  }

  /** The teams API has no bulk form: one call per learner. */
  calls(adds: LmsChange[], removals: LmsChange[]): Array<() => Promise<void>> {
    return [...adds.map((c) => () => this.add(c)), ...removals.map((c) => () => this.remove(c))];
  }

  async readRosters(links: LegacyLink[]): Promise<KindRead> {
    const read = await this.roster.read(links);
    return {
      rosters: new Map(
        links.map((link) => {
          const { members } = read.get(link.groupId)!;
          return [
            link.groupId,
            members
              ? { members }
              : {
                  members: null,
                  notFound: {
                    kind: `${link.legacyType}_not_found`,
                    reason: `${link.legacyType} ${link.legacyId} is not in the LMS`,
                  },
                },
          ];
        }),
      ),
    };
  }

  driftLabel(link: LegacyLink): string {
    return link.legacyType;
  }

  /** An echo comes only from an LMS that emits the proposed team events. */
  private async add(c: LmsChange): Promise<void> {
    try {
      await this.teams.addMember(c.link.legacyId!, c.username);
      c.outcome = { status: 'synced', error: null, echoExpected: this.config.LMS_EMITS_TEAM_EVENTS };
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      c.outcome = { status: 'rejected', error: teamRefusal(error), echoExpected: false };
    }
  }

  private async remove(c: LmsChange): Promise<void> {
    try {
      await this.teams.removeMember(c.link.legacyId!, c.username);
      c.outcome = { status: 'synced', error: null, echoExpected: false };
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error;
      // Not on the team (404): the state we wanted.
      c.outcome =
        error.status === 404
          ? { status: 'synced', error: null, echoExpected: false }
          : { status: 'rejected', error: teamRefusal(error), echoExpected: false };
    }
  }
}
