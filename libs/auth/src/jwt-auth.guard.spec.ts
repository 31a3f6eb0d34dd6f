import { Controller, Get, INestApplication, Logger, Post, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { generateKeyPair, SignJWT } from 'jose';
import { DomainExceptionFilter } from '@groups-sync/observability';
import { JwtAuthSettings } from './auth.config';
import { AuthErrorCode } from './auth.exception';
import { AuthModule } from './auth.module';
import { CourseRoles } from './course-roles';
import { ClaimCourseRoles } from './testing/claim-course-roles';
import { CurrentPrincipal } from './current-principal.decorator';
import { JwtAuthGuard, tokenFromHeader } from './jwt-auth.guard';
import { assertCanManageScope, Principal } from './principal';
import { courseStaffClaims, lmsUserClaims } from './testing/lms-claims';
import { TokenMinter } from './testing/token-minter';

const COURSE = 'course-v1:DemoX+Sync+2026';

@UseGuards(JwtAuthGuard)
@Controller('probe')
class ProbeController {
  @Get('me')
  me(@CurrentPrincipal() principal: Principal) {
    return { username: principal.username, userId: principal.userId, courseRoles: principal.courseRoles };
  }

  @Get('write-course')
  writeCourse(@CurrentPrincipal() principal: Principal) {
    assertCanManageScope(principal, 'course', COURSE, 'write');
    return { ok: true };
  }

  @Post('write-course')
  writeCourseByPost(@CurrentPrincipal() principal: Principal) {
    assertCanManageScope(principal, 'course', COURSE, 'write');
    return { ok: true };
  }
}

async function startApp(settings: JwtAuthSettings): Promise<{ app: INestApplication; url: string }> {
  // The minter's tokens carry their course roles (ClaimCourseRoles); LmsCourseRoles has tests of its own.
  const moduleRef = await Test.createTestingModule({
    imports: [AuthModule.forRoot(settings)],
    controllers: [ProbeController],
  })
    .overrideProvider(CourseRoles)
    .useValue(new ClaimCourseRoles())
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useGlobalFilters(new DomainExceptionFilter());
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('JwtAuthGuard', () => {
  let minter: TokenMinter;
  let app: INestApplication;
  let url: string;

  const get = (path: string, authorization?: string) =>
    fetch(`${url}${path}`, { headers: authorization ? { authorization } : {} });

  beforeAll(async () => {
    minter = await TokenMinter.create();
    ({ app, url } = await startApp(minter.settings));
  });

  afterAll(() => app.close());

  it('puts the principal of a valid Bearer token on the request', async () => {
    const res = await get('/probe/me', `Bearer ${await minter.mint(courseStaffClaims(COURSE))}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      username: 'teacher',
      userId: 7,
      courseRoles: [{ role: 'course_staff', courseKey: COURSE }],
    });
  });

  it('accepts the JWT prefix that edx clients send', async () => {
    const res = await get('/probe/me', `JWT ${await minter.mint(lmsUserClaims())}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: 'learner' });
  });

  it('answers 401 AUTH_TOKEN_MISSING with a Bearer challenge when there is no Authorization header', async () => {
    const res = await get('/probe/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({ code: AuthErrorCode.TokenMissing });
  });

  it('answers 401 AUTH_TOKEN_MISSING for Basic credentials', async () => {
    const res = await get('/probe/me', `Basic ${Buffer.from('staff:edx').toString('base64')}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: AuthErrorCode.TokenMissing });
  });

  it('answers 401 AUTH_TOKEN_EXPIRED with an invalid_token challenge for an expired token', async () => {
    const res = await get('/probe/me', `Bearer ${await minter.mint(lmsUserClaims(), { expiresIn: -600 })}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await res.json()).toMatchObject({ code: AuthErrorCode.TokenExpired });
  });

  it('answers 401 AUTH_TOKEN_INVALID for a token with a tampered payload', async () => {
    const [header, payload, signature] = (await minter.mint(lmsUserClaims())).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, administrator: true })).toString('base64url');
    const res = await get('/probe/me', `Bearer ${header}.${forged}.${signature}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: AuthErrorCode.TokenInvalid });
  });

  it('lets course staff write groups of their course', async () => {
    const res = await get('/probe/write-course', `Bearer ${await minter.mint(courseStaffClaims(COURSE))}`);
    expect(res.status).toBe(200);
  });

  it('answers 403 FORBIDDEN_SCOPE when an authenticated learner tries to write', async () => {
    const res = await get('/probe/write-course', `Bearer ${await minter.mint(lmsUserClaims())}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: AuthErrorCode.ForbiddenScope });
  });
});

describe('JwtAuthGuard with a token whose algorithm does not fit the configured key', () => {
  const SECRET = 'the-lms-jwt-secret-key';
  let minter: TokenMinter;

  beforeAll(async () => {
    minter = await TokenMinter.create();
  });

  afterEach(() => jest.restoreAllMocks());

  const es256 = async () =>
    new SignJWT(lmsUserClaims())
      .setProtectedHeader({ alg: 'ES256', kid: minter.publicJwk.kid })
      .setIssuer(minter.issuer)
      .setAudience(minter.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign((await generateKeyPair('ES256')).privateKey);
  /** An RS512 header over an HMAC signature made with the LMS's secret. */
  const rs512OverHmac = async () => {
    const hs = await new SignJWT(lmsUserClaims())
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(minter.issuer)
      .setAudience(minter.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const [, payload, signature] = hs.split('.');
    return `${Buffer.from(JSON.stringify({ alg: 'RS512', typ: 'JWT' })).toString('base64url')}.${payload}.${signature}`;
  };
  const issuers = () => JSON.stringify([{ ISSUER: minter.issuer, AUDIENCE: minter.audience, SECRET_KEY: SECRET }]);

  it.each([
    ['an ES256 token against the RSA PEM', () => minter.settings, es256],
    [
      'an ES256 token against the RSA key set',
      () => ({
        JWT_ISSUER: minter.issuer,
        JWT_AUDIENCE: minter.audience,
        JWT_PUBLIC_SIGNING_JWK_SET: JSON.stringify(minter.jwks),
      }),
      es256,
    ],
    [
      'an RS512 header over an HMAC signature against the HS256 secret',
      () => ({ JWT_ISSUER: minter.issuer, JWT_AUDIENCE: minter.audience, JWT_ISSUERS: issuers() }),
      rs512OverHmac,
    ],
    [
      'an RS512 header over an HMAC signature against the secret and the RSA PEM',
      () => ({ ...minter.settings, JWT_ISSUERS: issuers() }),
      rs512OverHmac,
    ],
  ])('answers %s with 401 AUTH_TOKEN_INVALID and the usual body, logging no error', async (_name, settings, token) => {
    const errorLog = jest.spyOn(Logger.prototype, 'error');
    const { app, url } = await startApp(settings());
    try {
      const res = await fetch(`${url}/probe/me`, { headers: { authorization: `Bearer ${await token()}` } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(await res.json()).toEqual({
        code: AuthErrorCode.TokenInvalid,
        message: expect.stringMatching(/^the token is not valid/),
        details: expect.any(Object),
      });
      expect(errorLog).not.toHaveBeenCalled();
    } finally {
      await app.close();
    }
  });
});

describe('JwtAuthGuard without a key source', () => {
  it('refuses even a well-signed token with 401 AUTH_NOT_CONFIGURED and tells the operator what to set', async () => {
    const minter = await TokenMinter.create();
    const { app, url } = await startApp({ JWT_ISSUER: minter.issuer, JWT_AUDIENCE: minter.audience });
    try {
      const res = await fetch(`${url}/probe/me`, {
        headers: { authorization: `Bearer ${await minter.mint(lmsUserClaims())}` },
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe(AuthErrorCode.NotConfigured);
      expect(body.message).toMatch(/JWT_JWKS_URL.*JWT_PUBLIC_KEY/);
    } finally {
      await app.close();
    }
  });
});

describe('tokenFromHeader', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['JWT abc.def.ghi', 'abc.def.ghi'],
    ['Bearer   abc.def.ghi ', 'abc.def.ghi'],
  ])('takes the token out of "%s"', (header, token) => {
    expect(tokenFromHeader(header)).toBe(token);
  });

  it.each([[undefined], [''], ['Bearer'], ['Bearer '], ['Token abc'], ['Bearer a b']])(
    'treats %p as no token',
    (header) => {
      expect(() => tokenFromHeader(header)).toThrow(expect.objectContaining({ code: AuthErrorCode.TokenMissing }));
    },
  );
});

describe("JwtAuthGuard with the LMS's JWT cookies (a browser on the LMS's domain)", () => {
  let minter: TokenMinter;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    minter = await TokenMinter.create();
    ({ app, url } = await startApp(minter.settings));
  });

  afterAll(() => app.close());

  const cookieHeaders = async (extra: Record<string, string> = {}) => {
    const [header, payload, signature] = (await minter.mint(lmsUserClaims())).split('.');
    return {
      cookie: `edx-jwt-cookie-header-payload=${header}.${payload}; edx-jwt-cookie-signature=${signature}; csrftoken=abc123`,
      ...extra,
    };
  };

  it('authenticates a read with the two cookies, joined as edx-drf-extensions joins them', async () => {
    const res = await fetch(`${url}/probe/me`, { headers: await cookieHeaders() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: 'learner' });
  });

  it('refuses a write by cookie without the CSRF double submit (403), and lets it through with it', async () => {
    const post = async (headers: Record<string, string>) =>
      fetch(`${url}/probe/write-course`, { method: 'POST', headers });
    const without = await post(await cookieHeaders());
    expect(without.status).toBe(403);
    expect(await without.json()).toMatchObject({ code: AuthErrorCode.CsrfFailed });
    expect((await post(await cookieHeaders({ 'x-csrftoken': 'wrong1' }))).status).toBe(403);
    // Through the guard and the CSRF check; the learner then is not allowed to write the course (403 FORBIDDEN_SCOPE).
    const withToken = await post(await cookieHeaders({ 'x-csrftoken': 'abc123' }));
    expect(await withToken.json()).toMatchObject({ code: AuthErrorCode.ForbiddenScope });
  });

  it('answers 401 when only one of the two cookies is sent', async () => {
    const { cookie } = await cookieHeaders();
    const res = await fetch(`${url}/probe/me`, { headers: { cookie: cookie.split(';')[0] } });
    expect(res.status).toBe(401);
  });
});
