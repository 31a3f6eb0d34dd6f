import { maskPersonalData, userIdsOf } from './dead-letter-people';

const user = (id: number) => ({
  id,
  is_active: true,
  pii: { username: `u${id}`, email: `u${id}@example.com`, name: `User ${id}` },
});

describe('the people a dead letter names', () => {
  it.each([
    [
      "an LMS event's user and who enrolled them",
      { enrollment: { user: user(1), created_by: user(2), mode: 'audit' } },
      [1, 2],
    ],
    ['a membership change', { membership: { group_id: 'g', user_id: 3, username: 'u3' } }, [3]],
    [
      "a snapshot's members",
      {
        snapshot: {
          members: [
            { user_id: 4, username: 'u4' },
            { user_id: 5, username: 'u5' },
          ],
        },
      },
      [4, 5],
    ],
    ['a group, which names nobody', { user_group: { id: 'g', name: 'G', version: 2 } }, []],
  ])('finds the user ids in %s', (_name, data, ids) => {
    expect(userIdsOf(data)).toEqual(ids);
  });

  it('masks every username, email and name, wherever it is, and keeps ids and the rest', () => {
    const masked = maskPersonalData({
      enrollment: { user: user(1), mode: 'audit', note: 'u1' },
      membership: { user_id: 1, username: 'u1' },
    });
    expect(masked).toEqual({
      enrollment: {
        user: { id: 1, is_active: true, pii: { username: '<retired>', email: '<retired>', name: '<retired>' } },
        mode: 'audit',
        note: '<retired>',
      },
      membership: { user_id: 1, username: '<retired>' },
    });
  });
});
