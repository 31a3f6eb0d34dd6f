import { personalValues, redactPersonalData } from './personal-data';

describe('personalValues', () => {
  it('collects usernames, emails and everything under pii, and no ids or course keys', () => {
    const data = {
      cohort: {
        user: { id: 7, is_active: true, pii: { username: 'ana', email: 'ana@example.com', name: 'Ana Lima' } },
        course: { course_key: 'course-v1:X+Y+Z' },
        name: 'Section A',
      },
      memberships: [{ user_id: 8, username: 'ben' }],
    };
    expect([...personalValues(data)].sort()).toEqual(['Ana Lima', 'ana', 'ana@example.com', 'ben']);
  });
});

describe('redactPersonalData', () => {
  it('replaces known usernames as whole words, in paths and in LMS messages, and keeps the ids', () => {
    const text =
      'LMS DELETE /api/cohorts/v1/courses/course-v1:X+Y+Z/cohorts/5/users/ana: 400 The user ana is not enrolled (user 7, not banana)';
    expect(redactPersonalData(text, ['ana'])).toBe(
      'LMS DELETE /api/cohorts/v1/courses/course-v1:X+Y+Z/cohorts/5/users/<user>: 400 The user <user> is not enrolled (user 7, not banana)',
    );
  });

  it('replaces URL-encoded usernames, any email address and username or email query values', () => {
    expect(
      redactPersonalData(
        'DELETE /team_membership/t1,ana%2Bx: 404; ben@example.org; GET /api/user/v1/accounts?username=zoe,yan&page=2',
        ['ana+x'],
      ),
    ).toBe('DELETE /team_membership/t1,<user>: 404; <email>; GET /api/user/v1/accounts?username=<redacted>&page=2');
  });
});
