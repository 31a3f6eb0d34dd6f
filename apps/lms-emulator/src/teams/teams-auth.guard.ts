import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Request, Response } from 'express';
import { ApiUser, AuthenticationFailed, DrfAuthentication } from '../auth/drf-authentication';
import { EmulatorSwitches } from '../events/emulator-switches';
import { LmsHttpError } from '../lms-http.error';

const callers = new WeakMap<Request, ApiUser>();

export function apiUserOf(req: Request): ApiUser {
  const user = callers.get(req);
  if (!user) throw new Error('TeamsAuthGuard did not run for this route');
  return user;
}

/**
 * Authentication as lms/djangoapps/teams/views.py declares it for every view emulated here:
 * `(BearerAuthenticationAllowInactiveUser, SessionAuthenticationAllowInactiveUser)` (openedx-platform
 * @e57a655; ADR 0034, proposed 2026-04-07, quotes the same tuple as the current state). So the one
 * header scheme accepted is `Authorization: Bearer <token>` with an opaque OAuth2 access token
 * (/oauth2/access_token without token_type=jwt). A JWT sent as Bearer matches no token (401
 * token_nonexistent); `Authorization: JWT ...` is read by no authenticator here (401 "credentials
 * were not provided"). With the `teams_api_accepts_jwt` switch on, `JWT <token>` is taken too, as
 * ADR 0034's target `(JwtAuthentication, SessionAuthenticationAllowInactiveUser)` would.
 * Inactive users are let in (the AllowInactiveUser variants). A 401 carries the first
 * authenticator's `WWW-Authenticate: Bearer realm="api"`; bodies are DRF's default handler's.
 */
@Injectable()
export class TeamsAuthGuard implements CanActivate {
  constructor(
    private readonly auth: DrfAuthentication,
    private readonly switches: EmulatorSwitches,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    let user: ApiUser | null;
    try {
      user = await this.auth.authenticate(req, { jwt: this.switches.get().teams_api_accepts_jwt });
    } catch (error) {
      if (!(error instanceof AuthenticationFailed)) throw error;
      throw this.unauthorized(context, typeof error.detail === 'string' ? { detail: error.detail } : error.detail);
    }
    if (!user) throw this.unauthorized(context, { detail: 'Authentication credentials were not provided.' });
    callers.set(req, user);
    return true;
  }

  private unauthorized(context: ExecutionContext, body: object): LmsHttpError {
    context.switchToHttp().getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="api"');
    return new LmsHttpError(401, body);
  }
}
