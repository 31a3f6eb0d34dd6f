import { Injectable } from '@nestjs/common';
import { Request } from 'express';
import { DataSource } from 'typeorm';
import { LmsEmulatorConfig } from '../lms-emulator.config';
import { JwtIssuer } from './jwt-issuer';

/** Who calls: a user (null id for the OAuth2 client's service user, who has no account here) and whether it is global staff. */
export interface ApiUser {
  id: number | null;
  username: string | null;
  staff: boolean;
}

/** DRF's AuthenticationFailed: its `detail` is the body (a string goes under `detail`). */
export class AuthenticationFailed extends Error {
  constructor(readonly detail: string | Record<string, string>) {
    super(typeof detail === 'string' ? detail : detail.developer_message);
  }
}

/**
 * The two token authentication classes edx-platform's DRF views list, as they read the
 * `Authorization` header:
 * - JwtAuthentication (edx-drf-extensions): `JWT <jwt>` only; the user is `preferred_username`,
 *   global staff per the `administrator` claim.
 * - BearerAuthentication (openedx/core/lib/api/authentication.py): `Bearer <token>` where the token
 *   is a django-oauth-toolkit access token, looked up in oauth2_provider_accesstoken; a JWT sent as
 *   Bearer matches no row. A header of one word fails here, whatever the word.
 * `authenticate` tries JWT (when the view lists it), then Bearer; null when neither applies (DRF's
 * NotAuthenticated). There is no session in the emulator.
 */
@Injectable()
export class DrfAuthentication {
  constructor(
    private readonly dataSource: DataSource,
    private readonly issuer: JwtIssuer,
    private readonly config: LmsEmulatorConfig,
  ) {}

  async authenticate(req: Request, options: { jwt: boolean }): Promise<ApiUser | null> {
    const auth = (req.headers.authorization ?? '').split(/\s+/).filter(Boolean);
    const scheme = auth[0]?.toLowerCase();
    if (options.jwt && scheme === 'jwt') {
      if (auth.length === 1) throw new AuthenticationFailed('Invalid Authorization header. No credentials provided.');
      if (auth.length > 2)
        throw new AuthenticationFailed('Invalid Authorization header. Credentials string should not contain spaces.');
      return this.jwt(auth[1]);
    }
    if (auth.length === 1)
      throw new AuthenticationFailed({
        error_code: 'token_not_provided',
        developer_message: 'Invalid token header. No credentials provided.',
      });
    if (auth.length > 2)
      throw new AuthenticationFailed({
        error_code: 'token_malformed',
        developer_message: 'Invalid token header. Token string should not contain spaces.',
      });
    return scheme === 'bearer' ? this.accessToken(auth[1]) : null;
  }

  /** BearerAuthentication.authenticate_credentials: the token row and the user it was issued to. */
  private async accessToken(token: string): Promise<ApiUser> {
    const [row] = await this.dataSource.query(
      `SELECT t.client_id, t.expires, u.id, u.username, u.is_staff FROM oauth2_provider_accesstoken t
       LEFT JOIN auth_user u ON u.id = t.user_id WHERE t.token = ?`,
      [token],
    );
    if (!row)
      throw new AuthenticationFailed({
        error_code: 'token_nonexistent',
        developer_message: 'The provided access token does not match any valid tokens.',
      });
    if (new Date(row.expires) < new Date()) {
      throw new AuthenticationFailed({
        error_code: 'token_expired',
        developer_message: 'The provided access token has expired and is no longer valid.',
      });
    }
    // A client_credentials token speaks for the application's service user, which is staff here.
    if (row.id === null) return { id: null, username: null, staff: row.client_id === this.config.LMS_OAUTH_CLIENT_ID };
    return { id: row.id, username: row.username, staff: !!row.is_staff };
  }

  private async jwt(token: string): Promise<ApiUser> {
    const claims = await this.issuer.verify(token);
    if (!claims) throw new AuthenticationFailed('Error decoding signature.');
    const username = String(claims.preferred_username ?? '');
    const [user] = await this.dataSource.query('SELECT id, username, is_staff FROM auth_user WHERE username = ?', [
      username,
    ]);
    // JwtAuthentication copies `administrator` onto the user when the token has it (the `profile`
    // scope); without it the account's own is_staff stands (the OAuth application's user is staff).
    const staff =
      typeof claims.administrator === 'boolean'
        ? claims.administrator
        : !!user?.is_staff || username === this.config.LMS_OAUTH_CLIENT_USERNAME;
    return { id: user?.id ?? null, username: user?.username ?? null, staff };
  }
}
