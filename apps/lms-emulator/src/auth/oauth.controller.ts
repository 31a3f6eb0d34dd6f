import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Response } from 'express';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { LmsEmulatorConfig } from '../lms-emulator.config';

/** The LMS's `/oauth2/access_token` for the client_credentials grant (form or JSON body). */
@ApiExcludeController()
@Controller('oauth2')
export class OAuthController {
  constructor(private readonly dataSource: DataSource, private readonly config: LmsEmulatorConfig) {}

  @Post('access_token')
  @HttpCode(200)
  async token(@Body() body: Record<string, string>, @Res({ passthrough: true }) res: Response) {
    if (body.grant_type !== 'client_credentials') {
      res.status(400);
      return { error: 'unsupported_grant_type' };
    }
    if (body.client_id !== this.config.LMS_OAUTH_CLIENT_ID || body.client_secret !== this.config.LMS_OAUTH_CLIENT_SECRET) {
      res.status(401);
      return { error: 'invalid_client' };
    }
    const token = randomBytes(24).toString('hex');
    const expiresIn = 3600;
    await this.dataSource.query('INSERT INTO oauth2_provider_accesstoken (token, expires, client_id) VALUES (?, ?, ?)', [
      token, new Date(Date.now() + expiresIn * 1000), body.client_id,
    ]);
    return { access_token: token, token_type: body.token_type === 'jwt' ? 'JWT' : 'Bearer', expires_in: expiresIn, scope: 'read write' };
  }
}
