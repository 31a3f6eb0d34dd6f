import { DecodedEvent, EventType, MembershipOrigin, newEventMetadata } from '@groups-sync/contracts';
import { LegacyLink } from '../links/legacy-link.entity';
import { LegacyKindWrites } from '../kinds/legacy-kind.port';
import { cutWaves, MembershipEvent } from './legacy-writes.service';

/** Cohort links are written to, and an add into a cohort moves the learner out of the course's others. */
const cohortWrites = (l: LegacyLink) =>
  l.legacyType === 'cohort' ? ({ addMovesWithinCourse: true } as LegacyKindWrites) : undefined;

const COURSE = 'course-v1:T+W+1';

function link(groupId: string, cohortId: string, courseKey = COURSE): LegacyLink {
  return Object.assign(new LegacyLink(), {
    groupId,
    courseKey,
    legacyType: 'cohort',
    legacyId: cohortId,
    groupName: groupId,
    state: 'linked',
    lastError: null,
  });
}

function change(
  userId: number,
  groupId: string,
  action: 'added' | 'removed',
  extra: { origin?: MembershipOrigin; movedTo?: string; linked?: boolean } = {},
): MembershipEvent {
  return {
    type: EventType.UserGroupMembershipChanged,
    key: COURSE,
    metadata: newEventMetadata(EventType.UserGroupMembershipChanged, 'groups-service'),
    data: {
      membership: {
        group_id: groupId,
        scope_type: 'course',
        scope_key: COURSE,
        user_id: userId,
        username: `u${userId}`,
        action,
        origin: extra.origin ?? 'api',
        occurred_at: '2026-11-29T12:00:00.000000+00:00',
        moved_to_group_id: extra.movedTo ?? null,
        legacy_linked: extra.linked ?? true,
      },
    },
  } as DecodedEvent<EventType.UserGroupMembershipChanged>;
}

describe('cutting a batch of membership changes into waves', () => {
  const links = new Map([
    ['g1', link('g1', '1')],
    ['g2', link('g2', '2')],
  ]);
  const users = (w: { writes: Array<{ event: MembershipEvent }> }) =>
    w.writes.map((x) => `${x.event.data.membership.user_id}:${x.event.data.membership.group_id}`);

  it("starts a new wave when a learner comes again, so one learner's LMS calls never run side by side", () => {
    const waves = cutWaves(
      [
        change(1, 'g1', 'added'),
        change(2, 'g1', 'added'),
        change(1, 'g2', 'added'),
        change(3, 'g2', 'added'),
        change(1, 'g1', 'added'),
      ],
      links,
      cohortWrites,
    );
    expect(waves.map(users)).toEqual([['1:g1', '2:g1'], ['1:g2', '3:g2'], ['1:g1']]);
  });

  it('only records what has nothing to write: changes from the LMS, retirements, unmirrored groups, the removal half of a move between cohorts', () => {
    const events = [
      change(1, 'g1', 'added', { origin: 'legacy' }),
      change(2, 'other', 'added', { linked: false }),
      change(3, 'g1', 'removed', { movedTo: 'g2' }),
      change(3, 'g2', 'added'),
      change(5, 'g1', 'removed', { origin: 'retirement' }),
    ];
    const waves = cutWaves(events, links, cohortWrites);
    expect(waves.map(users)).toEqual([['3:g2']]);
    expect(waves[0].recordable).toEqual(events);
  });

  it('sends a removal into a group with no cohort (a plain collection) to the LMS', () => {
    expect(cutWaves([change(4, 'g1', 'removed', { movedTo: 'plain' })], links, cohortWrites).map(users)).toEqual([
      ['4:g1'],
    ]);
  });
});
