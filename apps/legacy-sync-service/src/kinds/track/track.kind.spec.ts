import { DecodedEvent, EventType, newEventMetadata } from '@groups-sync/contracts';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LmsEnrollmentsClient } from '../../lms/lms-enrollments.client';
import { LegacyKind, UserGroup } from '../legacy-kind.port';
import { EnrollmentEvent } from './enrollment.events';
import { TrackKind } from './track.kind';
import { TrackRoster, TrackRosterOfCourse } from './track-roster';

const COURSE = 'course-v1:O+C+R';

function setup(courseModes: jest.Mock, rosters: TrackRosterOfCourse[] = []) {
  return new TrackKind(
    { courseModes } as unknown as LmsEnrollmentsClient,
    { read: jest.fn(async () => rosters) } as unknown as TrackRoster,
  );
}

const group = {
  id: 'g1',
  scope_type: 'course',
  scope_key: COURSE,
  name: 'Verified',
  criteria: [],
} as unknown as UserGroup;
const link = (groupId: string, mode: string) =>
  Object.assign(new LegacyLink(), {
    groupId,
    courseKey: COURSE,
    legacyType: 'enrollment_track',
    legacyId: mode,
    legacyName: mode,
    groupName: mode,
    state: 'linked',
    lastError: null,
  });

function enrollment(mode: string, isActive: boolean): EnrollmentEvent {
  return {
    type: EventType.CourseEnrollmentChanged,
    key: COURSE,
    metadata: newEventMetadata(EventType.CourseEnrollmentChanged, 'lms'),
    data: {
      enrollment: {
        user: { id: 5, is_active: true, pii: { username: 'a', email: '', name: '' } },
        course: { course_key: COURSE },
        mode,
        is_active: isActive,
      },
    },
  } as unknown as DecodedEvent<EventType.CourseEnrollmentChanged>;
}

describe('the enrollment track kind', () => {
  it('links a mode the course offers and imports its learners', async () => {
    expect(await setup(jest.fn(async () => ['audit', 'verified'])).link(group, '{"mode": "verified"}')).toEqual({
      linkType: 'enrollment_track',
      legacyId: 'verified',
      legacyName: 'verified',
      reportedId: 'verified',
      existed: true,
    });
  });

  it('refuses credit (its learners are in verified) without asking the LMS', async () => {
    const courseModes = jest.fn();
    expect(await setup(courseModes).link(group, '{"mode": "credit"}')).toMatchObject({
      refusal: expect.stringContaining('no credit track group'),
    });
    expect(courseModes).not.toHaveBeenCalled();
  });

  it('refuses a mode the course does not offer, and a course the LMS does not know', async () => {
    expect(await setup(jest.fn(async () => ['audit'])).link(group, '{"mode": "verified"}')).toMatchObject({
      refusal: expect.stringContaining('offers no "verified" mode (it offers audit)'),
    });
    const unknown = setup(
      jest.fn(async () => {
        throw new LmsRejectedError(400, undefined, 'No course found for course ID');
      }),
    );
    expect(await unknown.link(group, '{"mode": "verified"}')).toMatchObject({
      refusal: `the LMS does not know course ${COURSE}: No course found for course ID`,
    });
  });

  it('is read-only: no writes, no rename, no deletion', () => {
    const kind: LegacyKind = setup(jest.fn());
    expect([kind.writes, kind.rename, kind.deleteLegacyGroup]).toEqual([undefined, undefined, undefined]);
  });

  it("reads each track's learners, an empty track as empty", async () => {
    const verified = new Map([['a', { userId: 5, username: 'a' }]]);
    const kind = setup(jest.fn(), [{ courseKey: COURSE, found: true, tracks: new Map([['verified', verified]]) }]);
    const read = await kind.readRosters([link('g1', 'verified'), link('g2', 'audit')]);
    expect(read.rosters.get('g1')!.members).toBe(verified);
    expect(read.rosters.get('g2')!.members).toEqual(new Map());
  });

  it("turns an enrollment into an add to the learner's track and a removal from the others; credit counts as verified", async () => {
    const kind = setup(jest.fn());
    const links = [link('g1', 'verified'), link('g2', 'audit')];
    const event = enrollment('credit', true);
    expect((await kind.events.observe([event], links)).get(event)!.map((o) => [o.link.groupId, o.action])).toEqual([
      ['g1', 'added'],
      ['g2', 'removed'],
    ]);
    const inactive = enrollment('verified', false);
    expect((await kind.events.observe([inactive], links)).get(inactive)!.map((o) => o.action)).toEqual([
      'removed',
      'removed',
    ]);
  });
});
