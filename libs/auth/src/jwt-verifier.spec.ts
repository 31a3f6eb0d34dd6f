import { Logger } from '@nestjs/common';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, JwtAuthSettings } from './auth.config';
import { AuthErrorCode } from './auth.exception';
import { expectEventually } from '@groups-sync/testing';
import { JwtVerifier } from './jwt-verifier';
import { RemoteKeySetOptions } from './remote-key-set';
import { JwksServer } from './testing/jwks-server';
import { lmsUserClaims } from './testing/lms-claims';
import { TokenMinter } from './testing/token-minter';

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const rejection = (code: AuthErrorCode, kind = 'unauthenticated') => expect.objectContaining({ code, kind });

describe('JwtVerifier with a public key', () => {
  let minter: TokenMinter;
  let verifier: JwtVerifier;

  beforeAll(async () => {
    minter = await TokenMinter.create();
    verifier = await JwtVerifier.create(minter.settings);
  });

  it('accepts a token signed with the configured key and returns its claims', async () => {
    const claims = await verifier.verify(await minter.mint(lmsUserClaims()));
    expect(claims).toMatchObject({
      preferred_username: 'learner',
      user_id: 42,
      iss: DEFAULT_JWT_ISSUER,
      aud: DEFAULT_JWT_AUDIENCE,
    });
  });

  it('accepts RS512, the LMS default signing algorithm', async () => {
    await expect(verifier.verify(await minter.mint(lmsUserClaims(), { alg: 'RS512' }))).resolves.toMatchObject({
      user_id: 42,
    });
  });

  it('accepts a PEM written on one line with literal \\n escapes', async () => {
    const oneLine = await JwtVerifier.create({
      ...minter.settings,
      JWT_PUBLIC_KEY: minter.publicKeyPem.replace(/\n/g, '\\n'),
    });
    await expect(oneLine.verify(await minter.mint(lmsUserClaims()))).resolves.toMatchObject({ user_id: 42 });
  });

  it('accepts an ES256 token when the configured key is EC P-256', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const ec = await JwtVerifier.create({ ...minter.settings, JWT_PUBLIC_KEY: await exportSPKI(publicKey) });
    const token = await new SignJWT(lmsUserClaims())
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(DEFAULT_JWT_ISSUER)
      .setAudience(DEFAULT_JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(ec.verify(token)).resolves.toMatchObject({ user_id: 42 });
  });

  it('refuses an expired token with AUTH_TOKEN_EXPIRED', async () => {
    await expect(verifier.verify(await minter.mint(lmsUserClaims(), { expiresIn: -120 }))).rejects.toEqual(
      rejection(AuthErrorCode.TokenExpired),
    );
  });

  it('accepts a token that expired within the 30-second clock tolerance', async () => {
    await expect(verifier.verify(await minter.mint(lmsUserClaims(), { expiresIn: -10 }))).resolves.toMatchObject({
      user_id: 42,
    });
  });

  it('refuses a token without an expiry with AUTH_TOKEN_INVALID', async () => {
    await expect(verifier.verify(await minter.mint(lmsUserClaims(), { expiresIn: null }))).rejects.toEqual(
      rejection(AuthErrorCode.TokenInvalid),
    );
  });

  it('refuses a token from another issuer with AUTH_TOKEN_INVALID', async () => {
    await expect(
      verifier.verify(await minter.mint(lmsUserClaims(), { issuer: 'https://evil.example.com/oauth2' })),
    ).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
  });

  it('refuses a token for another audience with AUTH_TOKEN_INVALID', async () => {
    await expect(
      verifier.verify(await minter.mint(lmsUserClaims(), { audience: 'some-other-service' })),
    ).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
  });

  it('refuses a token signed by another key with AUTH_TOKEN_INVALID', async () => {
    const stranger = await TokenMinter.create();
    await expect(verifier.verify(await stranger.mint(lmsUserClaims()))).rejects.toEqual(
      rejection(AuthErrorCode.TokenInvalid),
    );
  });

  it('refuses an HS256 token whose secret is the public key', async () => {
    const token = await new SignJWT(lmsUserClaims())
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(DEFAULT_JWT_ISSUER)
      .setAudience(DEFAULT_JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(minter.publicKeyPem));
    await expect(verifier.verify(token)).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
  });

  it('refuses an unsigned token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${base64url({ alg: 'none' })}.${base64url({ ...lmsUserClaims(), iss: DEFAULT_JWT_ISSUER, aud: DEFAULT_JWT_AUDIENCE, iat: now, exp: now + 300 })}.`;
    await expect(verifier.verify(token)).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
  });

  it('refuses a token of a newer major version than 1', async () => {
    await expect(verifier.verify(await minter.mint(lmsUserClaims({ version: '2.0.0' })))).rejects.toEqual(
      rejection(AuthErrorCode.TokenInvalid),
    );
  });

  it('refuses a string that is not a JWT', async () => {
    await expect(verifier.verify('not-a-jwt')).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
  });
});

describe('JwtVerifier configuration', () => {
  const settings: JwtAuthSettings = { JWT_ISSUER: DEFAULT_JWT_ISSUER, JWT_AUDIENCE: DEFAULT_JWT_AUDIENCE };

  it('refuses every token with AUTH_NOT_CONFIGURED, naming both settings, when no key source is set', async () => {
    const minter = await TokenMinter.create();
    const verifier = await JwtVerifier.create(settings);
    expect(verifier.configured).toBe(false);
    const error = await verifier.verify(await minter.mint(lmsUserClaims())).catch((e: Error) => e);
    expect(error).toEqual(rejection(AuthErrorCode.NotConfigured));
    expect((error as Error).message).toMatch(/JWT_JWKS_URL.*JWT_PUBLIC_KEY/);
  });

  it('will not start with both a key set URL and a public key', async () => {
    const minter = await TokenMinter.create();
    await expect(
      JwtVerifier.create({ ...minter.settings, JWT_JWKS_URL: 'http://127.0.0.1:1/oauth2/jwks.json' }),
    ).rejects.toThrow(/not several/);
  });

  it('will not start with a public key that cannot be parsed', async () => {
    const garbage = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----';
    await expect(JwtVerifier.create({ ...settings, JWT_PUBLIC_KEY: garbage })).rejects.toThrow(/JWT_PUBLIC_KEY/);
  });
});

describe('JwtVerifier with a JWKS URL', () => {
  let minter: TokenMinter;
  let server: JwksServer;

  beforeAll(async () => {
    minter = await TokenMinter.create({ kid: 'lms-key-1' });
    server = await JwksServer.start(minter.jwks);
  });

  afterAll(() => server.close());

  beforeEach(() => {
    server.status = 200;
    server.hang = false;
    server.serve(minter.jwks);
  });

  afterEach(() => jest.useRealTimers());

  const verifierFor = (url: string, remote?: RemoteKeySetOptions) =>
    JwtVerifier.create({ JWT_JWKS_URL: url, JWT_ISSUER: minter.issuer, JWT_AUDIENCE: minter.audience }, remote);
  /** Moves the wall clock (Date) only: tokens are minted and keys aged by it, while sockets and timeouts run in real time. */
  const later = (ms: number) => {
    const now = Date.now();
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    jest.setSystemTime(now + ms);
  };
  const timed = async <T>(work: () => Promise<T>): Promise<number> => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };

  it('accepts a token whose key is in the key set and fetches the set once', async () => {
    const verifier = await verifierFor(server.url);
    const before = server.requests;
    await expect(verifier.verify(await minter.mint(lmsUserClaims()))).resolves.toMatchObject({ user_id: 42 });
    await expect(verifier.verify(await minter.mint(lmsUserClaims(), { alg: 'RS512' }))).resolves.toMatchObject({
      user_id: 42,
    });
    expect(server.requests - before).toBe(1);
  });

  it('refuses a token whose key is not in the key set with AUTH_TOKEN_INVALID', async () => {
    const stranger = await TokenMinter.create({ kid: 'stranger' });
    await expect((await verifierFor(server.url)).verify(await stranger.mint(lmsUserClaims()))).rejects.toEqual(
      rejection(AuthErrorCode.TokenInvalid),
    );
  });

  it('answers AUTH_KEYS_UNAVAILABLE, not a token error, when the key set endpoint fails', async () => {
    server.status = 500;
    const verifier = await verifierFor(server.url);
    await expect(verifier.verify(await minter.mint(lmsUserClaims()))).rejects.toEqual(
      rejection(AuthErrorCode.KeysUnavailable, 'unavailable'),
    );
  });

  it('keeps verifying with the last good keys, without waiting, when they are an hour old and the key set URL hangs', async () => {
    const verifier = await verifierFor(server.url);
    await verifier.verify(await minter.mint(lmsUserClaims()));
    server.hang = true;
    later(60 * 60_000);
    const before = server.requests;
    for (let i = 0; i < 10; i++) {
      const token = await minter.mint(lmsUserClaims());
      expect(await timed(() => expect(verifier.verify(token)).resolves.toMatchObject({ user_id: 42 }))).toBeLessThan(
        500,
      );
    }
    // One refresh in the background, not one per request.
    expect(server.requests - before).toBe(1);
  }, 20_000);

  it('keeps verifying with the last good keys when nothing listens at the key set URL any more', async () => {
    const going = await JwksServer.start(minter.jwks);
    const verifier = await verifierFor(going.url);
    await verifier.verify(await minter.mint(lmsUserClaims()));
    await going.close();
    later(60 * 60_000);
    const fetchFailed = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    for (let i = 0; i < 10; i++)
      await expect(verifier.verify(await minter.mint(lmsUserClaims()))).resolves.toMatchObject({ user_id: 42 });
    // One attempt per cooldown, not one per request.
    await expectEventually(() => expect(fetchFailed).toHaveBeenCalledTimes(1));
    fetchFailed.mockRestore();
  }, 20_000);

  it('refreshes old keys in the background and then verifies with what it brought (a key the LMS dropped is refused)', async () => {
    const verifier = await verifierFor(server.url, { refreshAfterMs: 60_000 });
    const rotated = await TokenMinter.create({ kid: 'lms-key-2' });
    await verifier.verify(await minter.mint(lmsUserClaims()));
    server.serve(rotated.jwks);
    later(2 * 60_000);
    const before = server.requests;
    await expect(verifier.verify(await minter.mint(lmsUserClaims()))).resolves.toMatchObject({ user_id: 42 });
    await expectEventually(() => expect(server.requests - before).toBe(1));
    const rotatedToken = await rotated.mint(lmsUserClaims());
    await expectEventually(() => expect(verifier.verify(rotatedToken)).resolves.toMatchObject({ user_id: 42 }));
    await expect(verifier.verify(await minter.mint(lmsUserClaims()))).rejects.toEqual(
      rejection(AuthErrorCode.TokenInvalid),
    );
  });

  it('fetches the set again for a token of a key it does not know (a rotation), at most once per cooldown', async () => {
    const verifier = await verifierFor(server.url, { cooldownMs: 60_000 });
    await verifier.verify(await minter.mint(lmsUserClaims()));
    const rotated = await TokenMinter.create({ kid: 'lms-key-2' });
    server.serve({ keys: [minter.publicJwk, rotated.publicJwk] });
    later(61_000);
    const before = server.requests;
    await expect(verifier.verify(await rotated.mint(lmsUserClaims()))).resolves.toMatchObject({ user_id: 42 });
    const stranger = await TokenMinter.create({ kid: 'stranger' });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => stranger.mint(lmsUserClaims())));
    await Promise.all(
      tokens.map((t) => expect(verifier.verify(t)).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid))),
    );
    expect(server.requests - before).toBe(1);
  });

  it('with no keys yet and the key set URL hanging, waits once (the fetch timeout), then answers AUTH_KEYS_UNAVAILABLE at once until the cooldown ends', async () => {
    const hanging = await JwksServer.start(minter.jwks);
    hanging.hang = true;
    try {
      const verifier = await verifierFor(hanging.url, { timeoutMs: 300, cooldownMs: 60_000 });
      const token = await minter.mint(lmsUserClaims());
      await expect(verifier.verify(token)).rejects.toEqual(rejection(AuthErrorCode.KeysUnavailable, 'unavailable'));
      for (let i = 0; i < 5; i++) {
        expect(
          await timed(() =>
            expect(verifier.verify(token)).rejects.toEqual(rejection(AuthErrorCode.KeysUnavailable, 'unavailable')),
          ),
        ).toBeLessThan(100);
      }
      expect(hanging.requests).toBe(1);
    } finally {
      await hanging.close();
    }
  }, 20_000);

  it('answers AUTH_KEYS_UNAVAILABLE when nothing listens at the key set URL', async () => {
    const gone = await JwksServer.start(minter.jwks);
    const url = gone.url;
    await gone.close();
    await expect((await verifierFor(url)).verify(await minter.mint(lmsUserClaims()))).rejects.toEqual(
      rejection(AuthErrorCode.KeysUnavailable, 'unavailable'),
    );
  });
});

describe("JwtVerifier with the LMS's own settings (edx-drf-extensions JWT_ISSUERS, JWT_PUBLIC_SIGNING_JWK_SET)", () => {
  const SECRET = 'the-lms-jwt-secret-key';
  const ISSUER = 'https://lms.example.com/oauth2';
  const issuers = JSON.stringify([
    { ISSUER, AUDIENCE: 'lms-audience', SECRET_KEY: SECRET },
    { ISSUER: 'https://other.example.com/oauth2', AUDIENCE: 'other' },
  ]);
  const hs256 = (
    claims: Record<string, unknown>,
    options: { secret?: string; issuer?: string; audience?: string; alg?: string } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? 'lms-audience')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(options.secret ?? SECRET));
  let minter: TokenMinter;
  let verifier: JwtVerifier;

  beforeAll(async () => {
    minter = await TokenMinter.create({ issuer: ISSUER, audience: 'lms-audience' });
    verifier = await JwtVerifier.create({
      JWT_ISSUERS: issuers,
      JWT_PUBLIC_SIGNING_JWK_SET: JSON.stringify(minter.jwks),
      JWT_ISSUER: 'unused',
      JWT_AUDIENCE: 'unused',
    });
  });

  it('accepts the HS256 token an LMS issues by default, signed with its JWT_SECRET_KEY', async () => {
    await expect(verifier.verify(await hs256(lmsUserClaims()))).resolves.toMatchObject({ user_id: 42, iss: ISSUER });
  });

  it('accepts the RS512 token it issues for asymmetric_jwt, from its public key set', async () => {
    await expect(verifier.verify(await minter.mint(lmsUserClaims(), { alg: 'RS512' }))).resolves.toMatchObject({
      user_id: 42,
    });
  });

  it.each([
    ['signed with another secret', () => hs256(lmsUserClaims(), { secret: 'not-the-lms-secret' })],
    [
      'of an issuer without a secret',
      () => hs256(lmsUserClaims(), { issuer: 'https://other.example.com/oauth2', audience: 'other' }),
    ],
    ['of an issuer not configured', () => hs256(lmsUserClaims(), { issuer: 'https://evil.example.com/oauth2' })],
    ['with another audience', () => hs256(lmsUserClaims(), { audience: 'other' })],
    ['HS384, an algorithm the LMS does not use', () => hs256(lmsUserClaims(), { alg: 'HS384' })],
    [
      'alg none',
      async () =>
        `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...lmsUserClaims(), iss: ISSUER, aud: 'lms-audience', exp: Math.floor(Date.now() / 1000) + 300, iat: Math.floor(Date.now() / 1000) })}.`,
    ],
    ["RS512 with the other issuer's audience", () => minter.mint(lmsUserClaims(), { alg: 'RS512', audience: 'other' })],
    [
      'signed HS256 with the public key as its secret (key confusion)',
      async () => hs256(lmsUserClaims(), { secret: JSON.stringify(minter.publicJwk) }),
    ],
  ])('refuses a token %s with 401 AUTH_TOKEN_INVALID', async (_name, token) => {
    await expect(verifier.verify(await token())).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
  });

  it('refuses an ES256 token against an RSA key as invalid (401), not as a server error', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const pem = await JwtVerifier.create({
      JWT_PUBLIC_KEY: minter.publicKeyPem,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: 'lms-audience',
    });
    const token = await new SignJWT(lmsUserClaims())
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(ISSUER)
      .setAudience('lms-audience')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(pem.verify(token)).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
    await expect(verifier.verify(token)).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
  });

  it('will not start with JWT_ISSUERS that are not a list of issuers', async () => {
    await expect(
      JwtVerifier.create({ JWT_ISSUERS: '{"ISSUER": "x"}', JWT_ISSUER: 'x', JWT_AUDIENCE: 'y' }),
    ).rejects.toThrow(/JWT_ISSUERS/);
    await expect(JwtVerifier.create({ JWT_ISSUERS: 'not json', JWT_ISSUER: 'x', JWT_AUDIENCE: 'y' })).rejects.toThrow(
      /not JSON/,
    );
  });

  it('counts as configured with a secret alone (an LMS that only issues HS256)', async () => {
    expect((await JwtVerifier.create({ JWT_ISSUERS: issuers, JWT_ISSUER: 'x', JWT_AUDIENCE: 'y' })).configured).toBe(
      true,
    );
  });
});

describe('JwtVerifier with a token whose algorithm does not fit the configured key', () => {
  const ISSUER = DEFAULT_JWT_ISSUER;
  const AUDIENCE = DEFAULT_JWT_AUDIENCE;
  const SECRET = 'the-lms-jwt-secret-key';
  const KID = 'lms-key-1';
  type Alg = 'HS256' | 'RS256' | 'RS512' | 'ES256';
  // A stranger's key per family, made once: an RSA key per case made this file take ~15 s.
  const strangers = new Map<string, ReturnType<typeof generateKeyPair>>();
  const stranger = (family: 'ES256' | 'RS256') => {
    if (!strangers.has(family)) strangers.set(family, generateKeyPair(family));
    return strangers.get(family)!;
  };
  const sign = async (alg: Alg, header: Record<string, unknown> = {}) => {
    const key =
      alg === 'HS256'
        ? new TextEncoder().encode(SECRET)
        : (await stranger(alg === 'ES256' ? 'ES256' : 'RS256')).privateKey;
    return new SignJWT(lmsUserClaims())
      .setProtectedHeader({ alg, kid: KID, typ: 'JWT', ...header })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  };
  /** A token whose header names `alg` but whose signature was made with `signedWith`: what an attacker can send. */
  const forged = async (alg: Alg, signedWith: Alg) => {
    const [, payload, signature] = (await sign(signedWith)).split('.');
    return `${base64url({ alg, kid: KID, typ: 'JWT' })}.${payload}.${signature}`;
  };
  const issuers = JSON.stringify([{ ISSUER, AUDIENCE, SECRET_KEY: SECRET }]);
  let servers: JwksServer[] = [];
  let sources: Record<string, () => Promise<JwtAuthSettings>>;

  beforeAll(async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: KID, use: 'sig' };
    const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: KID, use: 'sig' };
    const base = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
    const served = async (jwks: unknown) => {
      const server = await JwksServer.start(jwks);
      servers.push(server);
      return server.url;
    };
    sources = {
      'an RSA PEM': async () => ({ ...base, JWT_PUBLIC_KEY: await exportSPKI(rsa.publicKey) }),
      'an EC P-256 PEM': async () => ({ ...base, JWT_PUBLIC_KEY: await exportSPKI(ec.publicKey) }),
      'an RSA key set': async () => ({ ...base, JWT_PUBLIC_SIGNING_JWK_SET: JSON.stringify({ keys: [rsaJwk] }) }),
      'an RSA key set whose key says RS512': async () => ({
        ...base,
        JWT_PUBLIC_SIGNING_JWK_SET: JSON.stringify({ keys: [{ ...rsaJwk, alg: 'RS512' }] }),
      }),
      'an EC key set': async () => ({ ...base, JWT_PUBLIC_SIGNING_JWK_SET: JSON.stringify({ keys: [ecJwk] }) }),
      'an RSA key set URL': async () => ({ ...base, JWT_JWKS_URL: await served({ keys: [rsaJwk] }) }),
      'an EC key set URL': async () => ({ ...base, JWT_JWKS_URL: await served({ keys: [ecJwk] }) }),
      'an HS256 secret only': async () => ({ ...base, JWT_ISSUERS: issuers }),
      'an HS256 secret and an RSA key set': async () => ({
        ...base,
        JWT_ISSUERS: issuers,
        JWT_PUBLIC_SIGNING_JWK_SET: JSON.stringify({ keys: [rsaJwk] }),
      }),
    };
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  const SOURCES = [
    'an RSA PEM',
    'an EC P-256 PEM',
    'an RSA key set',
    'an RSA key set whose key says RS512',
    'an EC key set',
    'an RSA key set URL',
    'an EC key set URL',
    'an HS256 secret only',
    'an HS256 secret and an RSA key set',
  ];
  const TOKENS: Array<[string, () => Promise<string>]> = [
    ["an ES256 token of a stranger's key", () => sign('ES256')],
    ["an RS256 token of a stranger's key", () => sign('RS256')],
    ["an RS512 token of a stranger's key", () => sign('RS512')],
    [
      'an HS256 token of another secret',
      async () => forged('HS256', 'HS256').then((t) => t.replace(/\.[^.]+$/, '.c2lnbmF0dXJl')),
    ],
    ['an RS512 header over an HMAC signature', () => forged('RS512', 'HS256')],
    ['an RS256 header over an ES256 signature', () => forged('RS256', 'ES256')],
    ['an ES256 header over an RS256 signature', () => forged('ES256', 'RS256')],
    ['an ES256 header over an HMAC signature', () => forged('ES256', 'HS256')],
    ['an HS256 header over an RS256 signature', () => forged('HS256', 'RS256')],
    ['an RS256 header with an empty signature', async () => (await forged('RS256', 'RS256')).replace(/\.[^.]+$/, '.')],
  ];
  const cases = SOURCES.flatMap((source) => TOKENS.map(([token, make]) => [source, token, make] as const));

  it.each(cases)(
    'against %s, refuses %s with AUTH_TOKEN_INVALID (401), never a server error',
    async (source, _token, make) => {
      const verifier = await JwtVerifier.create(await sources[source]());
      await expect(verifier.verify(await make())).rejects.toEqual(rejection(AuthErrorCode.TokenInvalid));
    },
  );
});
