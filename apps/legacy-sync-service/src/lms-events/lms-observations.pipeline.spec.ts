import { DataSource, EntityManager } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, newEventMetadata } from '@groups-sync/contracts';
import { OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { FakeKind } from '../kinds/fake.kind';
import { LegacyKindEvents, Observed } from '../kinds/legacy-kind.port';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { LmsObservations } from './lms-observations.pipeline';

const COURSE = 'course-v1:O+C+R';
interface FakeData {
  user: number;
  course: string;
  group?: string;
  removed?: boolean;
}
type FakeEvent = DecodedEvent;
const d = (e: FakeEvent) => e.data as unknown as FakeData;

/** A kind whose events name the user, the course and the linked group (by group id) they are about. */
class FakeEvents implements LegacyKindEvents<FakeEvent> {
  check(event: FakeEvent): void {
    if (!d(event).course) throw new PoisonMessageError('INVALID_DATA', 'no course', event);
  }

  courseOf(event: FakeEvent): string {
    return d(event).course;
  }

  userOf(event: FakeEvent): { id: number; username: string } {
    return { id: d(event).user, username: `u${d(event).user}` };
  }

  async observe(events: FakeEvent[], links: LegacyLink[]): Promise<Map<FakeEvent, Observed[]>> {
    return new Map(
      events.map((e) => [
        e,
        links
          .filter((l) => l.groupId === d(e).group)
          .map((link) => ({ link, action: d(e).removed ? ('removed' as const) : ('added' as const) })),
      ]),
    );
  }
}

const event = (data: FakeData, time = '2026-12-01T10:00:00Z'): FakeEvent =>
  ({
    type: EventType.CohortMembershipChanged,
    key: COURSE,
    data,
    metadata: { ...newEventMetadata(EventType.CohortMembershipChanged, 'lms'), time },
  }) as unknown as FakeEvent;
const link = (groupId: string, legacyType: 'cohort' | 'teamset') =>
  Object.assign(new LegacyLink(), { groupId, courseKey: COURSE, legacyType, legacyId: groupId, state: 'linked' });

function setup(links: LegacyLink[], pending: Array<Partial<PendingLmsWrite>> = []) {
  const kind = Object.assign(new FakeKind(), { events: new FakeEvents() });
  const appended: unknown[][] = [];
  const confirmed: unknown[] = [];
  const manager = {
    query: jest.fn(async () => []),
    find: jest.fn(async () => pending),
    update: jest.fn(async (_e: unknown, where: { id: { value: unknown } }) => confirmed.push(where.id.value)),
  } as unknown as EntityManager;
  const dataSource = {
    getRepository: () => ({ find: async () => links }),
    transaction: async (_level: string, work: (m: EntityManager) => Promise<unknown>) => work(manager),
    manager,
  } as unknown as DataSource;
  const pipeline = new LmsObservations(dataSource, new LegacyKinds([kind]), {
    appendMany: async (_m: unknown, _t: unknown, data: unknown[]) => appended.push(data),
  } as unknown as OutboxWriter);
  return { kind, pipeline, appended, confirmed, manager };
}

describe('LMS events into observations, whatever the kind', () => {
  it('dead-letters an event the kind cannot read, and one whose ce_time is no time', async () => {
    const { kind, pipeline } = setup([]);
    await expect(
      pipeline.observe(ConsumerGroup.LegacySyncLmsEvents, kind, [event({ user: 1, course: '' })]),
    ).rejects.toThrow(PoisonMessageError);
    await expect(
      pipeline.observe(ConsumerGroup.LegacySyncLmsEvents, kind, [event({ user: 1, course: COURSE }, 'yesterday')]),
    ).rejects.toThrow('is not a time');
  });

  it('costs one read and nothing else for courses with no linked legacy group', async () => {
    const { kind, pipeline, manager } = setup([]);
    expect(
      await pipeline.observe(ConsumerGroup.LegacySyncLmsEvents, kind, [
        event({ user: 1, course: COURSE, group: 'g1' }),
      ]),
    ).toEqual({ unlinked: 1, observed: [] });
    expect(manager.query).not.toHaveBeenCalled();
  });

  it('forwards each event of a linked group dated by its ce_time, in order, and counts the others unlinked', async () => {
    const { kind, pipeline, appended } = setup([link('g1', 'teamset')]);
    const batch = await pipeline.observe(ConsumerGroup.LegacySyncLmsEvents, kind, [
      event({ user: 1, course: COURSE, group: 'g1', removed: true }),
      event({ user: 2, course: COURSE, group: 'nope' }),
      event({ user: 3, course: COURSE, group: 'g1' }),
    ]);
    expect(batch).toEqual({
      unlinked: 1,
      observed: [
        { action: 'removed', echo: false },
        { action: 'added', echo: false },
      ],
    });
    expect(appended[0]).toEqual(
      [1, 3].map((user) => ({
        observation: expect.objectContaining({
          group_id: 'g1',
          user_id: user,
          username: `u${user}`,
          observed_at: '2026-12-01T10:00:00.000Z',
          echo_of_change_at: null,
        }),
      })),
    );
  });

  it('marks the echo of our own add by its pending write, the oldest first, and confirms it', async () => {
    const pending = [
      { id: '10', courseKey: COURSE, legacyId: 'g1', userId: 1, changeOccurredAt: '2026-12-01T09:00:00Z' },
      { id: '11', courseKey: COURSE, legacyId: 'g1', userId: 1, changeOccurredAt: 'later' },
    ];
    const { kind, pipeline, appended, confirmed } = setup([link('g1', 'cohort')], pending);
    const batch = await pipeline.observe(ConsumerGroup.LegacySyncLmsEvents, kind, [
      event({ user: 1, course: COURSE, group: 'g1' }),
    ]);
    expect(batch.observed).toEqual([{ action: 'added', echo: true }]);
    expect(appended[0]).toEqual([
      { observation: expect.objectContaining({ echo_of_change_at: '2026-12-01T09:00:00Z' }) },
    ]);
    expect(confirmed).toEqual([['10']]);
  });

  it('looks for no echo in a read-only legacy group', async () => {
    const { kind, pipeline, manager } = setup([link('g1', 'teamset')]);
    await pipeline.observe(ConsumerGroup.LegacySyncLmsEvents, kind, [event({ user: 1, course: COURSE, group: 'g1' })]);
    expect(manager.find).not.toHaveBeenCalled();
  });
});
