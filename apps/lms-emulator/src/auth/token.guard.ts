import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Request, Response } from 'express';
import { LmsHttpError } from '../lms-http.error';
import { DataSource } from 'typeorm';
import { LmsEmulatorConfig } from '../lms-emulator.config';
import { JwtIssuer } from './jwt-issuer';

/** What the permission checks need to know about the caller of a valid token. */
export interface Caller {
  staff: boolean;
}

/** LMS REST APIs accept `Authorization: JWT <token>` or `Bearer <token>` from an OAuth2 client. */
@Injectable()
export class TokenGuard implements CanActivate {
  constructor(
    private readonly dataSource: DataSource,
    private readonly issuer: JwtIssuer,
    private readonly config: LmsEmulatorConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      await this.caller(context.switchToHttp().getRequest<Request>());
    } catch (error) {
      throw drfError(context, error, 'detail');
    }
    return true;
  }

  /**
   * Global staff (user.is_staff) is what a JWT's `administrator` claim carries. An opaque client
   * token speaks for the OAuth2 client's service user, which is staff: the product's client must be.
   */
  async caller(req: Request): Promise<Caller> {
    const match = /^(JWT|Bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match) throw new NotAuthenticated('Authentication credentials were not provided.');
    if (match[2].split('.').length === 3) {
      const claims = await this.issuer.verify(match[2]);
      if (!claims) throw new NotAuthenticated('Invalid token.');
      if (typeof claims.administrator === 'boolean') return { staff: claims.administrator };
      const [user] = await this.dataSource.query('SELECT is_staff FROM auth_user WHERE username = ?', [
        String(claims.preferred_username ?? ''),
      ]);
      return { staff: !!user?.is_staff || claims.preferred_username === this.config.LMS_OAUTH_CLIENT_USERNAME };
    }
    const [row] = await this.dataSource.query(
      `SELECT t.client_id, t.user_id, u.is_staff FROM oauth2_provider_accesstoken t LEFT JOIN auth_user u ON u.id = t.user_id
       WHERE t.token = ? AND t.expires > ?`,
      [match[2], new Date()],
    );
    if (!row) throw new NotAuthenticated('Invalid token.');
    // A user's token (/emulator/tokens with token_type bearer) speaks for that user.
    return { staff: row.user_id === null ? row.client_id === this.config.LMS_OAUTH_CLIENT_ID : !!row.is_staff };
  }
}

/** DRF's NotAuthenticated / AuthenticationFailed: 401 with the authenticator's challenge. */
class NotAuthenticated extends Error {}

/**
 * How edx-platform's views answer a refusal: DRF's `{"detail": …}`, or `{"developer_message": …}` in
 * views with DeveloperErrorViewMixin (the cohorts API); 401 carries JwtAuthentication's challenge.
 */
function drfError(context: ExecutionContext, error: unknown, key: 'detail' | 'developer_message'): unknown {
  if (!(error instanceof NotAuthenticated)) return error;
  context.switchToHttp().getResponse<Response>().setHeader('WWW-Authenticate', 'JWT realm="api"');
  return new LmsHttpError(401, { [key]: error.message });
}

/** The cohorts API's IsStaffOrAdmin: a valid token is not enough, its user must be global staff. */
@Injectable()
export class StaffGuard implements CanActivate {
  constructor(private readonly tokens: TokenGuard) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    let staff: boolean;
    try {
      ({ staff } = await this.tokens.caller(context.switchToHttp().getRequest<Request>()));
    } catch (error) {
      throw drfError(context, error, 'developer_message');
    }
    if (!staff)
      throw new LmsHttpError(403, { developer_message: 'You do not have permission to perform this action.' });
    return true;
  }
}
