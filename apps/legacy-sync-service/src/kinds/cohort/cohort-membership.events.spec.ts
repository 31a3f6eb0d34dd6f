import { EventType } from '@groups-sync/contracts';
import { PoisonMessageError } from '@groups-sync/messaging';
import { LegacyLink } from '../../links/legacy-link.entity';
import { CohortDirectory } from './cohort-directory';
import { CohortEvent, CohortMembershipEvents } from './cohort-membership.events';

const COURSE = 'course-v1:Org+C1+2026';
const link = Object.assign(new LegacyLink(), { groupId: 'g1', courseKey: COURSE, legacyType: 'cohort', legacyId: '7' });
const event = (type: CohortEvent['type'], name = 'Section A', userId = 5) =>
  ({
    type,
    data: {
      cohort: {
        user: { id: userId, is_active: true, pii: { username: 'ana', email: 'ana@example.com', name: '' } },
        course: { course_key: COURSE, display_name: '', start: null, end: null },
        name,
      },
    },
  }) as CohortEvent;

describe('CohortMembershipEvents', () => {
  const directory = { idByName: jest.fn(async (_course: string, name: string) => (name === 'Section A' ? 7 : null)) };
  const events = new CohortMembershipEvents(directory as unknown as CohortDirectory);

  it.each([
    [EventType.CohortMembershipChanged, 'added'],
    [EventType.CohortMembershipRemoved, 'removed'],
  ] as const)('observes %s as %s in the group mirroring the named cohort', async (type, action) => {
    const e = event(type);
    expect((await events.observe([e], [link])).get(e)).toEqual([{ link, action }]);
  });

  it('observes nothing for a cohort no group mirrors, and asks the LMS nothing for a course no group is in', async () => {
    const other = event(EventType.CohortMembershipRemoved, 'Unmirrored');
    expect((await events.observe([other], [link])).get(other)).toEqual([]);
    directory.idByName.mockClear();
    const elsewhere = event(EventType.CohortMembershipRemoved);
    expect((await events.observe([elsewhere], [])).get(elsewhere)).toEqual([]);
    expect(directory.idByName).not.toHaveBeenCalled();
  });

  it('refuses a removal without a user id or cohort name as poison', () => {
    expect(() => events.check(event(EventType.CohortMembershipRemoved, ''))).toThrow(PoisonMessageError);
    expect(() => events.check(event(EventType.CohortMembershipRemoved, 'Section A', 0))).toThrow(PoisonMessageError);
  });
});
