import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Request, Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { AuthErrorCode, AuthException } from './auth.exception';
import { CourseRoles } from './course-roles';
import { JwtVerifier, NOT_CONFIGURED_MESSAGE } from './jwt-verifier';
import { Access, Principal, principalFromClaims } from './principal';

export type AuthenticatedRequest = Request & { principal?: Principal };

export const SERVICE_USERS = Symbol('SERVICE_USERS');

// `Bearer` (RFC 6750) or `JWT`, the prefix edx-drf-extensions' JwtAuthentication expects.
const AUTHORIZATION = /^(?:Bearer|JWT)[ \t]+(\S+)[ \t]*$/i;

/** The LMS's JWT cookies (edx-drf-extensions' JwtAuthCookieMiddleware): header.payload in one, the signature in the other. */
export const JWT_COOKIE_HEADER_PAYLOAD = 'edx-jwt-cookie-header-payload';
export const JWT_COOKIE_SIGNATURE = 'edx-jwt-cookie-signature';
/** Django's CSRF cookie, and the header its double submit is checked against. */
export const CSRF_COOKIE = 'csrftoken';
export const CSRF_HEADER = 'x-csrftoken';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function tokenFromHeader(header: string | undefined): string {
  const token = header?.match(AUTHORIZATION)?.[1];
  if (!token) {
    throw new AuthException(
      AuthErrorCode.TokenMissing,
      'send an LMS-issued JWT as "Authorization: JWT <jwt>" (or "Bearer <jwt>"), or the LMS\'s JWT cookies',
    );
  }
  return token;
}

export function cookiesOf(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    try {
      if (!cookies.has(name)) cookies.set(name, decodeURIComponent(part.slice(at + 1).trim()));
    } catch {
      // An undecodable cookie is someone else's: ignored.
    }
  }
  return cookies;
}

/**
 * The caller's token: the Authorization header, else the two JWT cookies the LMS sets for a logged-in
 * browser, joined as edx-drf-extensions joins them. A cookie-authenticated request that changes
 * something must carry Django's CSRF double submit (X-CSRFToken equal to the csrftoken cookie), as
 * JwtAuthentication enforces CSRF for cookies.
 */
export function tokenOf(req: Request): { token: string; fromCookies: boolean } {
  if (req.headers.authorization) return { token: tokenFromHeader(req.headers.authorization), fromCookies: false };
  const cookies = cookiesOf(req.headers.cookie);
  const headerPayload = cookies.get(JWT_COOKIE_HEADER_PAYLOAD);
  const signature = cookies.get(JWT_COOKIE_SIGNATURE);
  if (!headerPayload || !signature) return { token: tokenFromHeader(undefined), fromCookies: false };
  if (!SAFE_METHODS.has(req.method.toUpperCase())) {
    const expected = cookies.get(CSRF_COOKIE) ?? '';
    const given = String(req.headers[CSRF_HEADER] ?? '');
    const [a, b] = [Buffer.from(given), Buffer.from(expected)];
    const same = b.length > 0 && a.length === b.length && timingSafeEqual(a, b);
    if (!same)
      throw new AuthException(
        AuthErrorCode.CsrfFailed,
        `CSRF Failed: send the ${CSRF_COOKIE} cookie's value as X-CSRFToken (GET /csrf/api/v1/token gives one)`,
      );
  }
  return { token: `${headerPayload}.${signature}`, fromCookies: true };
}

/** Authenticates by LMS JWT and puts the caller on `request.principal`; authorization is up to the handler. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly courseRoles: CourseRoles,
    @Inject(SERVICE_USERS) private readonly serviceUsers: ReadonlyMap<string, Access>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<AuthenticatedRequest>();
    try {
      // Configuration first: an unconfigured service refuses everyone, with the operator's fix in the message.
      if (!this.verifier.configured) throw new AuthException(AuthErrorCode.NotConfigured, NOT_CONFIGURED_MESSAGE);
      const { token } = tokenOf(req);
      const claims = (await this.verifier.verify(token)) as Record<string, unknown>;
      const principal = principalFromClaims(claims, this.serviceUsers);
      // Only a plain user needs course roles: staff may do anything, services and restricted applications never act through them.
      if (!principal.isService && !principal.isGlobalStaff && !principal.isRestricted) {
        try {
          principal.courseRoles = await this.courseRoles.of(principal, token, claims);
        } catch (e) {
          // Decided where a course role is needed (503 there); what needs none (a learner's own groups, a 403) goes on.
          if (!(e instanceof AuthException && e.code === AuthErrorCode.RolesUnavailable)) throw e;
          principal.courseRolesUnavailable = true;
        }
      }
      req.principal = principal;
      return true;
    } catch (e) {
      if (e instanceof AuthException && e.kind === 'unauthenticated') {
        const invalid = e.code === AuthErrorCode.TokenInvalid || e.code === AuthErrorCode.TokenExpired;
        http.getResponse<Response>().setHeader('WWW-Authenticate', invalid ? 'Bearer error="invalid_token"' : 'Bearer');
      }
      throw e;
    }
  }
}

/**
 * Express middleware for the routes that take large bodies: a body parser runs before any guard,
 * so without this anyone could make the service read megabytes. It checks only that the token is
 * valid (the guard still decides who the caller is and what they may do).
 */
export function verifiedTokenBeforeBody(
  verifier: JwtVerifier,
): (req: Request, res: Response, next: (error?: unknown) => void) => void {
  return (req, _res, next) => {
    let token: string;
    try {
      token = tokenOf(req).token;
    } catch (error) {
      return next(error);
    }
    verifier.verify(token).then(() => next(), next);
  };
}
