import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { JwtIssuer } from './jwt-issuer';

/** Django's session cookie, and the LMS's two JWT cookies (edx-drf-extensions' names). */
const SESSION_COOKIE = 'sessionid';
const JWT_HEADER_PAYLOAD = 'edx-jwt-cookie-header-payload';
const JWT_SIGNATURE = 'edx-jwt-cookie-signature';
/** JWT_AUTH['JWT_IN_COOKIE_EXPIRATION'] of the LMS's settings. */
const JWT_COOKIE_SECONDS = 60 * 60;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * A browser's sign-in, as a micro-frontend meets it: `/login?next=` (here a form that takes a
 * username and no password: a test peer), `POST /login_refresh`, which mints the two JWT cookies
 * from the session as edx-platform's `login_refresh` does (401 "Unauthorized" without a session;
 * `user_authn/cookies.py`: header.payload readable by scripts, the signature HttpOnly, an hour),
 * and `/logout?redirect_url=`. Sessions live as long as the process.
 */
@ApiExcludeController()
@Controller()
export class SessionController {
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly issuer: JwtIssuer,
  ) {}

  @Get('login')
  form(@Query('next') next: string | undefined, @Res() res: Response) {
    res.type('html').send(`<!doctype html><html lang="en"><head><title>Sign in | LMS emulator</title></head>
<body><main><h1>Sign in</h1>
<form method="post" action="/login">
<input type="hidden" name="next" value="${escapeHtml(next ?? '/')}">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username" required>
<button type="submit">Sign in</button>
</form></main></body></html>`);
  }

  @Post('login')
  async login(@Body() body: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    const [user] = await this.dataSource.query('SELECT id FROM auth_user WHERE username = ? AND is_active = 1', [
      String(body?.username ?? ''),
    ]);
    if (!user) {
      res.status(400).type('html').send('<!doctype html><title>Sign in</title><p role="alert">Unknown username.</p>');
      return;
    }
    const session = randomBytes(24).toString('hex');
    this.sessions.set(session, Number(user.id));
    res.cookie(SESSION_COOKIE, session, { httpOnly: true, sameSite: 'lax', path: '/' });
    await this.setJwtCookies(res, Number(user.id));
    res.redirect(302, safeRedirect(String(body?.next ?? '/'), req.hostname));
  }

  @Post('login_refresh')
  @HttpCode(200)
  async refresh(@Req() req: Request, @Res() res: Response) {
    const userId = this.sessions.get(cookie(req, SESSION_COOKIE) ?? '');
    if (userId === undefined) {
      res.status(401).json('Unauthorized');
      return;
    }
    const expires = await this.setJwtCookies(res, userId);
    res.json({ success: true, user_id: userId, expires_epoch_seconds: expires });
  }

  @Get('logout')
  logout(@Query('redirect_url') redirectUrl: string | undefined, @Req() req: Request, @Res() res: Response) {
    this.sessions.delete(cookie(req, SESSION_COOKIE) ?? '');
    for (const name of [SESSION_COOKIE, JWT_HEADER_PAYLOAD, JWT_SIGNATURE]) res.clearCookie(name, { path: '/' });
    res.redirect(302, safeRedirect(redirectUrl ?? '/', req.hostname));
  }

  private async setJwtCookies(res: Response, userId: number): Promise<number> {
    const [user] = await this.dataSource.query('SELECT id, username, email, is_staff FROM auth_user WHERE id = ?', [
      userId,
    ]);
    // The claims of a login's token: oauth_dispatch's _create_jwt with scopes user_id, email, profile.
    const jwt = await this.issuer.sign(
      {
        preferred_username: user.username,
        user_id: Number(user.id),
        email: user.email,
        administrator: !!user.is_staff,
        scopes: ['user_id', 'email', 'profile'],
        grant_type: 'password',
      },
      JWT_COOKIE_SECONDS,
    );
    const at = jwt.lastIndexOf('.');
    const options = { path: '/', sameSite: 'lax' as const, maxAge: JWT_COOKIE_SECONDS * 1000 };
    res.cookie(JWT_HEADER_PAYLOAD, jwt.slice(0, at), options);
    res.cookie(JWT_SIGNATURE, jwt.slice(at + 1), { ...options, httpOnly: true });
    return Math.floor(Date.now() / 1000) + JWT_COOKIE_SECONDS;
  }
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

/** Back to a path, or to an http(s) page on this host (any port: the page is served beside the LMS); never elsewhere. */
export function safeRedirect(next: string, hostname: string): string {
  // Browsers read `\` as `/` and drop control characters: `/\evil.example` is another host.
  if (/[\\\u0000-\u001f]/.test(next)) return '/';
  if (next.startsWith('/') && !next.startsWith('//')) return next;
  try {
    const url = new URL(next);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname === hostname ? next : '/';
  } catch {
    return '/';
  }
}
