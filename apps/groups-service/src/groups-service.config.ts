import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { LmsClientConfig } from '@groups-sync/lms-client';
import { DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, NotWith } from './auth/auth.config';

/** The LMS settings (LMS_BASE_URL, LMS_OAUTH_*) serve the user directory: usernames and emails to accounts. */
export class GroupsServiceConfig extends LmsClientConfig {
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

  /** How long an account the LMS described is trusted before it is asked again. */
  @Type(() => Number) @IsInt() @Min(0) @Max(30 * 86_400)
  USER_DIRECTORY_TTL_SECONDS = 86_400;
}
