import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Request } from 'express';
import { DataSource } from 'typeorm';
import { JwtIssuer } from './jwt-issuer';

/** LMS REST APIs accept `Authorization: JWT <token>` or `Bearer <token>` from an OAuth2 client. */
@Injectable()
export class TokenGuard implements CanActivate {
  constructor(private readonly dataSource: DataSource, private readonly issuer: JwtIssuer) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^(JWT|Bearer)\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedException('Authentication credentials were not provided.');
    if (match[2].split('.').length === 3) {
      if (await this.issuer.verify(match[2])) return true;
      throw new UnauthorizedException('Invalid token.');
    }
    const rows = await this.dataSource.query('SELECT 1 FROM oauth2_provider_accesstoken WHERE token = ? AND expires > ?', [match[2], new Date()]);
    if (!rows.length) throw new UnauthorizedException('Invalid token.');
    return true;
  }
}
