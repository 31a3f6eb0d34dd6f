import { replaceIdentifiers, replaceIdentity, replaceInJson, retiredIdentifiers } from './scrub';

const retired = retiredIdentifiers(42);
const replacements = [
  { from: 'ana', to: retired.username },
  { from: 'Ana.B@example.com', to: retired.email },
];

describe('replaceIdentifiers (free text)', () => {
  it('replaces a username and an email wherever they stand alone, in any case', () => {
    expect(replaceIdentifiers('LMS does not know user "ANA" (ana.b@EXAMPLE.com)', replacements)).toBe(
      'LMS does not know user "retired__user_42" (retired__user_42@retired.invalid)',
    );
  });

  it('leaves longer identifiers that merely contain the username alone', () => {
    expect(replaceIdentifiers('banana ana_2 ana.b ana+x ana@example.org x-ana', replacements)).toBe(
      'banana ana_2 ana.b ana+x ana@example.org x-ana',
    );
  });

  it('takes a username with regular-expression characters literally', () => {
    expect(replaceIdentifiers('a.b+c and aXb+c', [{ from: 'a.b+c', to: 'r' }])).toBe('r and aXb+c');
  });
});

describe('replaceIdentity (a column that holds one identifier)', () => {
  it('replaces an equal value in any case, and nothing else', () => {
    expect(replaceIdentity('ANA', replacements)).toBe(retired.username);
    expect(replaceIdentity('ana staff', replacements)).toBe('ana staff');
  });
});

describe('replaceInJson', () => {
  it('rewrites identity keys and free-text keys at any depth, and leaves every other value alone', () => {
    const api = [{ from: 'api', to: 'retired__user_7' }];
    const doc = {
      membership: { username: 'API', origin: 'api' },
      members: [{ user_id: 7, username: 'api' }],
      error: 'user api is unknown',
      name: 'api',
    };
    expect(replaceInJson(doc, api)).toEqual({
      membership: { username: 'retired__user_7', origin: 'api' },
      members: [{ user_id: 7, username: 'retired__user_7' }],
      error: 'user retired__user_7 is unknown',
      name: 'api',
    });
  });
});
