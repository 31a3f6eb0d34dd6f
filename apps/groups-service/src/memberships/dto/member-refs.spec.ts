import { BadRequestException } from '@nestjs/common';
import { MemberRefDto } from './member-ref.dto';
import { memberRefsOf, membersOfBody } from './member-refs';

const refused = async (items: unknown[]) =>
  ((await memberRefsOf(items).catch((e: unknown) => e)) as BadRequestException).getResponse() as { message: string[] };

describe('memberRefsOf', () => {
  it('takes users by user_id, username or email, as MemberRefDto', async () => {
    const refs = await memberRefsOf([
      { user_id: 7 },
      { username: 'ana' },
      { email: 'ben@example.com', username: 'ben' },
    ]);
    expect(refs.every((r) => r instanceof MemberRefDto)).toBe(true);
    expect(refs.map((r) => ({ ...r }))).toEqual([
      { user_id: 7 },
      { username: 'ana' },
      { email: 'ben@example.com', username: 'ben' },
    ]);
  });

  it('refuses what the ValidationPipe refused, naming each entry by its index', async () => {
    const { message } = await refused([
      { username: 'ok' },
      {},
      { username: 'bad name' },
      { user_id: 0 },
      { user_id: 1, extra: true },
      'ana',
      null,
    ]);
    expect(message).toEqual([
      'members.1.each member needs a user_id, a username or an email',
      'members.1.user_id must not be greater than 9007199254740991',
      'members.1.user_id must not be less than 1',
      'members.1.user_id must be an integer number',
      'members.2.username may contain letters, digits and @.+-_',
      'members.3.user_id must not be less than 1',
      'members.4.property extra should not exist',
      'members.5 must be an object with a user_id, a username or an email',
      'members.6 must be an object with a user_id, a username or an email',
    ]);
  });

  it('gives the event loop back between slices of a 10,000-entry body, and lists at most 100 problems', async () => {
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const refs = await memberRefsOf(Array.from({ length: 10_000 }, (_, i) => ({ username: `learner_${i}` })));
    spinning = false;
    expect(refs).toHaveLength(10_000);
    expect(turns).toBeGreaterThanOrEqual(9); // slices of 1,000; in one go it would be 1
    expect((await refused(Array.from({ length: 10_000 }, () => ({})))).message).toHaveLength(100);
  });
});

describe('membersOfBody', () => {
  const problems = async (body: unknown) =>
    ((await membersOfBody(body).catch((e: unknown) => e)) as BadRequestException).getResponse() as {
      message: string[];
    };

  it('takes {"members": [...]} and nothing else, 1 to 10,000 entries, as the ValidationPipe did', async () => {
    expect(await membersOfBody({ members: [{ username: 'ana' }] })).toHaveLength(1);
    expect((await problems({ members: [], extra: 1 })).message).toEqual([
      'property extra should not exist',
      'members must contain at least 1 elements',
    ]);
    expect((await problems({ members: 'ana' })).message).toEqual(['members must be an array']);
    expect((await problems({})).message).toEqual(['members must be an array']);
    expect((await problems({ members: Array.from({ length: 10_001 }, () => ({ user_id: 1 })) })).message).toEqual([
      'members must contain no more than 10000 elements',
    ]);
    expect((await problems([{ username: 'ana' }])).message).toEqual([
      'the body must be an object with a members array',
    ]);
  });
});
