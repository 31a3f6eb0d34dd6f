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

  @IsString()
  @MinLength(1)
  LMS_OAUTH_CLIENT_ID = 'groups-sync';

  /** The local stack's (the LMS emulator's client); production takes it from the environment or a secret file. */
  @DevelopmentDefault()
  @IsString()
  @MinLength(1)
  LMS_OAUTH_CLIENT_SECRET = 'groups-sync-secret';

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  LMS_TIMEOUT_MS = 10_000;

  /**
   * edx-drf-extensions' JWT_ISSUERS as JSON, `[{"ISSUER": "<LMS root>/oauth2", "AUDIENCE": "<JWT_AUTH
   * JWT_AUDIENCE>", "SECRET_KEY": "<JWT_AUTH JWT_SECRET_KEY>"}]`: what verifies the HS256 tokens an LMS
   * issues by default. Unset: JWT_ISSUER and JWT_AUDIENCE, asymmetric tokens only.
   */
  @IsOptional()
  @IsString()
  @MinLength(2)
  JWT_ISSUERS?: string = undefined;

  /** The LMS's JWT_PUBLIC_SIGNING_JWK_SET (JSON): the public keys of the RS512 tokens it issues when asked for `asymmetric_jwt`. */
  @IsOptional()
  @IsString()
  @MinLength(2)
  @NotWith('JWT_JWKS_URL')
  @NotWith('JWT_PUBLIC_KEY')
  JWT_PUBLIC_SIGNING_JWK_SET?: string = undefined;

  /** Or a URL serving that key set (the emulator's /oauth2/jwks.json; the LMS itself no longer serves one). */
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL of a JSON Web Key Set' })
  @NotWith('JWT_PUBLIC_KEY')
  @InProduction(
    (url) => String(url).startsWith('https://'),
    'must be an https URL: keys fetched over plain http can be swapped on the way',
  )
  JWT_JWKS_URL?: string = undefined;

  /** Alternative to JWT_JWKS_URL: one PEM public key (RSA or EC P-256). Neither set: every API call gets 401. */
  @IsOptional()
  @Matches(/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/, {
    message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)',
  })
  JWT_PUBLIC_KEY?: string = undefined;

  @IsString()
  @MinLength(1)
  JWT_ISSUER = DEFAULT_JWT_ISSUER;

  @IsString()
  @MinLength(1)
  JWT_AUDIENCE = DEFAULT_JWT_AUDIENCE;

  /**
   * Service clients admitted by who they are, without custom OAuth scopes: comma-separated
   * `<username>[:read|:write]` (write when unsaid). A client_credentials JWT of the LMS
   * names its OAuth application's user in `preferred_username`: list that user (deploy/openedx).
   */
  @DevelopmentDefault()
  @IsString()
  @Matches(/^\s*([^\s,:]+(:(read|write))?\s*(,\s*|$))*$/, {
    message: 'must be a comma-separated list of <name>[:read|:write]',
  })
  SERVICE_USERS = 'groups_sync_worker:write';

  /**
   * A read-only connection to the LMS's own database (`mysql://reader:pw@replica:3306/edxapp`): course
   * roles are read from student_courseaccessrole (and legacy-sync reads the cohort tables). Unset:
   * the LMS's REST APIs.
   */
  @IsOptional()
  @Matches(/^mysql:\/\/\S+\/[A-Za-z0-9_$]+$/, {
    message: 'must look like mysql://user[:password]@host[:port]/database',
  })
  LMS_DB_URL?: string = undefined;

  /**
   * How far behind the primary LMS_DB_URL's replica is taken to be when it cannot be asked (no
   * REPLICA MONITOR / REPLICATION CLIENT privilege): its reads are dated that far back.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3600)
  LMS_DB_ASSUMED_LAG_SECONDS = 30;

  /** How long a user's course roles read from the LMS are trusted. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3600)
  COURSE_ROLES_CACHE_SECONDS = 60;
}
