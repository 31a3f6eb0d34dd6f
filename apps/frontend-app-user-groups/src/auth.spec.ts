import { decodeHeaderPayload } from './auth';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe("reading the LMS's JWT cookie (header.payload; the signature stays HttpOnly)", () => {
  it('reads the claims, UTF-8 included', () => {
    const claims = { user_id: 7, preferred_username: 'zoë', administrator: false, exp: 2_000_000_000 };
    expect(decodeHeaderPayload(`${b64url({ alg: 'HS256' })}.${b64url(claims)}`)).toEqual(claims);
  });

  it.each([[undefined], [''], ['only-a-header'], ['a.%%%'], [`x.${Buffer.from('not json').toString('base64url')}`]])(
    'answers null for %j',
    (value) => {
      expect(decodeHeaderPayload(value)).toBeNull();
    },
  );
});
