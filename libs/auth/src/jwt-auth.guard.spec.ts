import { Controller, Get, INestApplication, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DomainExceptionFilter } from '@groups-sync/observability';
import { JwtAuthSettings } from './auth.config';
import { AuthErrorCode } from './auth.exception';
import { AuthModule } from './auth.module';
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
}

async function startApp(settings: JwtAuthSettings): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [AuthModule.forRoot(settings)], controllers: [ProbeController] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useGlobalFilters(new DomainExceptionFilter());
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('JwtAuthGuard', () => {
  let minter: TokenMinter;
  let app: INestApplication;
  let url: string;

  const get = (path: string, authorization?: string) => fetch(`${url}${path}`, { headers: authorization ? { authorization } : {} });

  beforeAll(async () => {
    minter = await TokenMinter.create();
    ({ app, url } = await startApp(minter.settings));
  });

  afterAll(() => app.close());

  it('puts the principal of a valid Bearer token on the request', async () => {
    const res = await get('/probe/me', `Bearer ${await minter.mint(courseStaffClaims(COURSE))}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ username: 'teacher', userId: 7, courseRoles: [{ role: 'course_staff', courseKey: COURSE }] });
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

describe('JwtAuthGuard without a key source', () => {
  it('refuses even a well-signed token with 401 AUTH_NOT_CONFIGURED and tells the operator what to set', async () => {
    const minter = await TokenMinter.create();
    const { app, url } = await startApp({ JWT_ISSUER: minter.issuer, JWT_AUDIENCE: minter.audience });
    try {
      const res = await fetch(`${url}/probe/me`, { headers: { authorization: `Bearer ${await minter.mint(lmsUserClaims())}` } });
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

  it.each([[undefined], [''], ['Bearer'], ['Bearer '], ['Token abc'], ['Bearer a b']])('treats %p as no token', (header) => {
    expect(() => tokenFromHeader(header)).toThrow(expect.objectContaining({ code: AuthErrorCode.TokenMissing }));
  });
});
