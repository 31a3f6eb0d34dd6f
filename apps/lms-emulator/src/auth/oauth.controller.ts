import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Response } from 'express';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { LmsEmulatorConfig } from '../lms-emulator.config';
import { JwtIssuer } from './jwt-issuer';

const EXPIRES_IN = 3600;
/**
 * The scopes of an unmodified LMS (OAUTH2_PROVIDER['SCOPES']); anything else is `invalid_scope`
 * unless the operator added it (LMS_OAUTH_EXTRA_SCOPES). Asked for nothing, the LMS grants its
 * default scopes.
 */
const LMS_SCOPES = ['read', 'write', 'email', 'profile', 'user_id'];
const DEFAULT_SCOPES = 'read write email profile';

/** The LMS's `/oauth2/access_token` (client_credentials grant) and `/oauth2/jwks.json`. */
@ApiExcludeController()
@Controller('oauth2')
export class OAuthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: LmsEmulatorConfig,
    private readonly issuer: JwtIssuer,
  ) {}

  @Get('jwks.json')
  jwks() {
    return this.issuer.jwks();
  }

  /** `token_type=jwt` gets a signed JWT with the granted scopes; otherwise an opaque bearer token. */
  @Post('access_token')
  @HttpCode(200)
  async token(@Body() body: Record<string, string>, @Res({ passthrough: true }) res: Response) {
    if (body.grant_type !== 'client_credentials') {
      res.status(400);
      return { error: 'unsupported_grant_type' };
    }
    if (
      body.client_id !== this.config.LMS_OAUTH_CLIENT_ID ||
      body.client_secret !== this.config.LMS_OAUTH_CLIENT_SECRET
    ) {
      res.status(401);
      return { error: 'invalid_client' };
    }
    const requested = (body.scope || DEFAULT_SCOPES).split(/\s+/).filter(Boolean);
    const allowed = [...LMS_SCOPES, ...this.config.LMS_OAUTH_EXTRA_SCOPES.split(/[\s,]+/).filter(Boolean)];
    const refused = requested.filter((s) => !allowed.includes(s));
    if (refused.length) {
      res.status(400);
      return { error: 'invalid_scope', error_description: `not allowed: ${refused.join(' ')}` };
    }
    if (body.token_type?.toLowerCase() === 'jwt') {
      // The token speaks for the application's service user (dot_overrides' save_bearer_token), who
      // is global staff (the cohorts API needs it): oauth_dispatch puts user.is_staff in
      // `administrator` only with the `profile` scope. HS256 unless `asymmetric_jwt` is asked for
      // (any non-empty value, as the LMS reads it).
      const token = await this.issuer.sign(
        {
          preferred_username: this.config.LMS_OAUTH_CLIENT_USERNAME,
          sub: body.client_id,
          scopes: requested,
          grant_type: 'client-credentials',
          ...(requested.includes('profile') ? { administrator: true, superuser: false } : {}),
        },
        EXPIRES_IN,
        { asymmetric: !!body.asymmetric_jwt },
      );
      return { access_token: token, token_type: 'JWT', expires_in: EXPIRES_IN, scope: requested.join(' ') };
    }
    const token = randomBytes(24).toString('hex');
    await this.dataSource.query(
      'INSERT INTO oauth2_provider_accesstoken (token, expires, client_id) VALUES (?, ?, ?)',
      [token, new Date(Date.now() + EXPIRES_IN * 1000), body.client_id],
    );
    return { access_token: token, token_type: 'Bearer', expires_in: EXPIRES_IN, scope: requested.join(' ') };
  }
}
