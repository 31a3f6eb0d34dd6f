import { DecodedEvent, EventType, isCourseKey } from '@groups-sync/contracts';
import { PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LegacyKindEvents, Observed } from '../legacy-kind.port';

export type TeamEvent = DecodedEvent<EventType.TeamMembershipAdded | EventType.TeamMembershipRemoved>;

/**
 * The proposed `team_membership.added|removed.v1` events (edx-platform emits no team event today):
 * each is about the group mirroring the team and the group mirroring its whole teamset.
 */
export class TeamMembershipEvents implements LegacyKindEvents<TeamEvent> {
  check(event: TeamEvent): void {
    const t = event.data.team_membership;
    if (
      !(t?.user?.id > 0) ||
      !t.user.pii?.username ||
      !isCourseKey(t.course?.course_key ?? '') ||
      !t.team?.team_id ||
      !t.team.teamset_id
    ) {
      throw new PoisonMessageError(
        'INVALID_DATA',
        'team membership event without a user id, username, course key, team id or teamset id',
        event,
      );
    }
  }

  courseOf(event: TeamEvent): string {
    return event.data.team_membership.course.course_key;
  }

  userOf(event: TeamEvent): { id: number; username: string } {
    return { id: event.data.team_membership.user.id, username: event.data.team_membership.user.pii.username };
  }

  async observe(events: TeamEvent[], links: LegacyLink[]): Promise<Map<TeamEvent, Observed[]>> {
    return new Map(
      events.map((event) => {
        const { course, team } = event.data.team_membership;
        const action = event.type === EventType.TeamMembershipAdded ? 'added' : 'removed';
        const mirrors = links.filter(
          (l) =>
            l.courseKey === course.course_key &&
            ((l.legacyType === 'team' && l.legacyId === team.team_id) ||
              (l.legacyType === 'teamset' && l.legacyId === team.teamset_id)),
        );
        return [event, mirrors.map((link) => ({ link, action }))];
      }),
    );
  }
}
