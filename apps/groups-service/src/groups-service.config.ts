import { IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { ServiceConfig } from '@groups-sync/config';
import { DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, NotWith } from './auth/auth.config';

export class GroupsServiceConfig extends ServiceConfig {
  override PORT = 3001;

  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME = 'groups_service';

  /** Where the LMS publishes its JWT signing keys, e.g. `https://lms.example.com/oauth2/jwks.json`. */
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL of a JSON Web Key Set' }) @NotWith('JWT_PUBLIC_KEY')
  JWT_JWKS_URL?: string = undefined;

  /** Alternative to JWT_JWKS_URL: one PEM public key (RSA or EC P-256). Neither set: every API call gets 401. */
  @IsOptional() @Matches(/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/, { message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)' })
  JWT_PUBLIC_KEY?: string = undefined;

  @IsString() @MinLength(1)
  JWT_ISSUER = DEFAULT_JWT_ISSUER;

  @IsString() @MinLength(1)
  JWT_AUDIENCE = DEFAULT_JWT_AUDIENCE;
}
