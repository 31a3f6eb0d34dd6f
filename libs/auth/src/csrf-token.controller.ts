import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { cookiesOf, CSRF_COOKIE } from './jwt-auth.guard';

/**
 * edx-drf-extensions' CsrfTokenView, which frontend-platform's HTTP client asks before a write it
 * authenticates with the LMS's JWT cookies: `{"csrfToken": …}`, also set as the csrftoken cookie.
 */
@ApiExcludeController()
@Controller('csrf/api/v1')
export class CsrfTokenController {
  @Get('token')
  token(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const token = cookiesOf(req.headers.cookie).get(CSRF_COOKIE) || randomBytes(32).toString('hex');
    res.cookie(CSRF_COOKIE, token, { sameSite: 'lax', secure: req.secure, path: '/' });
    return { csrfToken: token };
  }
}
