import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Request, Response } from 'express';
import { AuthErrorCode, AuthException } from './auth.exception';
import { JwtVerifier, NOT_CONFIGURED_MESSAGE } from './jwt-verifier';
import { Principal, principalFromClaims } from './principal';

export type AuthenticatedRequest = Request & { principal?: Principal };

// `Bearer` (RFC 6750) or `JWT`, the prefix edx-drf-extensions' JwtAuthentication expects.
const AUTHORIZATION = /^(?:Bearer|JWT)[ \t]+(\S+)[ \t]*$/i;

export function tokenFromHeader(header: string | undefined): string {
  const token = header?.match(AUTHORIZATION)?.[1];
  if (!token) {
    throw new AuthException(AuthErrorCode.TokenMissing, 'send an LMS-issued JWT as "Authorization: Bearer <jwt>" (or "JWT <jwt>")');
  }
  return token;
}

/** Authenticates by LMS JWT and puts the caller on `request.principal`; authorization is up to the handler. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(private readonly verifier: JwtVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<AuthenticatedRequest>();
    try {
      // Configuration first: an unconfigured service refuses everyone, with the operator's fix in the message.
      if (!this.verifier.configured) throw new AuthException(AuthErrorCode.NotConfigured, NOT_CONFIGURED_MESSAGE);
      req.principal = principalFromClaims(await this.verifier.verify(tokenFromHeader(req.headers.authorization)));
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
