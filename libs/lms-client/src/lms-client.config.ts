import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER } from '@groups-sync/auth';
import { DevelopmentDefault, InProduction, NotWith, ServiceConfig } from '@groups-sync/config';

/**
 * Settings of a service that calls the LMS's REST APIs as an OAuth2 client (client_credentials grant)
 * and trusts the JWTs the LMS issues (its own API's callers).
 */
export class LmsClientConfig extends ServiceConfig {
  @DevelopmentDefault()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be the LMS root URL, e.g. https://lms.example.com' })
  LMS_BASE_URL = 'http://127.0.0.1:18000';

  @IsString() @MinLength(1)
  LMS_OAUTH_CLIENT_ID = 'groups-sync';

  /** The local stack's (the LMS emulator's client); production takes it from the environment or a secret file. */
  @DevelopmentDefault() @IsString() @MinLength(1)
  LMS_OAUTH_CLIENT_SECRET = 'groups-sync-secret';

  @Type(() => Number) @IsInt() @Min(100) @Max(120_000)
  LMS_TIMEOUT_MS = 10_000;

  /** Where the LMS publishes its JWT signing keys, e.g. `https://lms.example.com/oauth2/jwks.json`. */
  @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL of a JSON Web Key Set' }) @NotWith('JWT_PUBLIC_KEY')
  @InProduction((url) => String(url).startsWith('https://'), 'must be an https URL: keys fetched over plain http can be swapped on the way')
  JWT_JWKS_URL?: string = undefined;

  /** Alternative to JWT_JWKS_URL: one PEM public key (RSA or EC P-256). Neither set: every API call gets 401. */
  @IsOptional() @Matches(/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/, { message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)' })
  JWT_PUBLIC_KEY?: string = undefined;

  @IsString() @MinLength(1)
  JWT_ISSUER = DEFAULT_JWT_ISSUER;

  @IsString() @MinLength(1)
  JWT_AUDIENCE = DEFAULT_JWT_AUDIENCE;
}
