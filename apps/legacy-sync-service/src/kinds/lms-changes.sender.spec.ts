import { DataSource } from 'typeorm';
import { FakeKind } from './fake.kind';
import { LegacyKinds } from './legacy-kinds.registry';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LegacyLink } from '../links/legacy-link.entity';
import { LmsChangesSender, OutgoingChange } from './lms-changes.sender';

const link = (legacyType: 'cohort' | 'teamset') =>
  Object.assign(new LegacyLink(), {
    groupId: `g-${legacyType}`,
    courseKey: 'course-v1:O+C+R',
    legacyType,
    legacyId: '1',
  });
const change = (
  username: string,
  action: 'added' | 'removed',
  legacyType: 'cohort' | 'teamset' = 'cohort',
): OutgoingChange => ({
  link: link(legacyType),
  userId: username.length,
  username,
  action,
  sourceEventId: 'e1',
  changeOccurredAt: null,
});

function setup() {
  const kind = new FakeKind();
  let id = 0;
  const pending = {
    insert: jest.fn(async (rows: unknown[]) => ({ identifiers: rows.map(() => ({ id: ++id })) })),
    delete: jest.fn(async () => undefined),
  };
  const dataSource = { getRepository: () => pending } as unknown as DataSource;
  const sender = new LmsChangesSender(
    dataSource,
    new LegacyKinds([kind]),
    Object.assign(new LegacySyncServiceConfig(), { LMS_CONCURRENCY: 2 }),
  );
  return { kind, pending, sender };
}

describe('sending changes to the LMS through their kinds', () => {
  it('records adds as pending writes before the calls, and keeps those whose echo will come', async () => {
    const { kind, pending, sender } = setup();
    kind.answer = (c) => ({ status: 'synced', error: null, echoExpected: c.username !== 'present' });
    const changes = [change('new', 'added'), change('present', 'added'), change('gone', 'removed')];
    expect(await sender.send(changes)).toEqual([]);
    expect(pending.insert.mock.calls[0][0]).toHaveLength(2);
    expect(kind.sent.map((c) => c.map((x) => x.username))).toEqual([['new', 'present'], ['gone']]);
    expect(pending.delete).toHaveBeenCalledWith({ id: expect.objectContaining({ value: ['2'] }) });
  });

  it('answers the failures of an LMS that is down, with those changes unanswered and their pending writes gone', async () => {
    const { kind, pending, sender } = setup();
    kind.answer = () => {
      throw new Error('ECONNRESET');
    };
    const add = change('new', 'added');
    expect(await sender.send([add])).toEqual([new Error('ECONNRESET')]);
    expect(add.outcome).toBeUndefined();
    expect(pending.delete).toHaveBeenCalledWith({ id: expect.objectContaining({ value: ['1'] }) });
  });

  it('sends nothing for a read-only link', async () => {
    const { kind, sender } = setup();
    const change_ = change('new', 'removed', 'teamset');
    await sender.send([change_]);
    expect(kind.sent).toEqual([]);
    expect(change_.outcome).toBeUndefined();
  });
});
