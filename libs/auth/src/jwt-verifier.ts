import { createPublicKey } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  importSPKI,
  JSONWebKeySet,
  JWTPayload,
  jwtVerify,
  JWTVerifyGetKey,
  JWTVerifyOptions,
  KeyLike,
} from 'jose';
import { JwtAuthSettings } from './auth.config';
import { AuthErrorCode, AuthException } from './auth.exception';
import { RemoteKeySet, RemoteKeySetOptions } from './remote-key-set';

// As edx-drf-extensions' decoder (auth/jwt/decoder.py): HS256 with an issuer's SECRET_KEY, the
// LMS's default (oauth_dispatch/jwt.py signs with JWT_SECRET_KEY unless asked for `asymmetric_jwt`);
// RS256/RS512 from the public key set (RS512 is the LMS's JWT_SIGNING_ALGORITHM); ES256 for other
// issuers. Nothing else: no `none`, no HS384, no key confusion between the two kinds.
const SYMMETRIC = 'HS256';
const ASYMMETRIC = ['RS256', 'RS512', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 30;
// As edx-drf-extensions: refuse tokens of a newer major version than we understand.
const SUPPORTED_MAJOR_VERSION = 1;

export const NOT_CONFIGURED_MESSAGE =
  "JWT verification is not configured: set JWT_ISSUERS with the LMS's SECRET_KEY (its HS256 tokens), and/or JWT_PUBLIC_SIGNING_JWK_SET, JWT_JWKS_URL or JWT_PUBLIC_KEY (its asymmetric ones)";

export interface JwtIssuer {
  ISSUER: string;
  AUDIENCE: string;
  SECRET_KEY?: string;
}

type KeySource = { remote: JWTVerifyGetKey } | { set: JWTVerifyGetKey } | { local: KeyLike };

/** JWT_ISSUERS as edx-drf-extensions reads it, or the one issuer of JWT_ISSUER / JWT_AUDIENCE. */
export function parseIssuers(
  settings: Pick<JwtAuthSettings, 'JWT_ISSUERS' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
): JwtIssuer[] {
  if (!settings.JWT_ISSUERS) return [{ ISSUER: settings.JWT_ISSUER, AUDIENCE: settings.JWT_AUDIENCE }];
  let parsed: unknown;
  try {
    parsed = JSON.parse(settings.JWT_ISSUERS);
  } catch (e) {
    throw new Error(`JWT_ISSUERS is not JSON: ${(e as Error).message}`);
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length > 0 &&
    parsed.every(
      (i) =>
        i &&
        typeof i.ISSUER === 'string' &&
        i.ISSUER &&
        typeof i.AUDIENCE === 'string' &&
        i.AUDIENCE &&
        (i.SECRET_KEY === undefined || (typeof i.SECRET_KEY === 'string' && i.SECRET_KEY.length > 0)),
    );
  if (!ok)
    throw new Error(
      'JWT_ISSUERS must be a JSON list of {"ISSUER": ..., "AUDIENCE": ..., "SECRET_KEY": ...} (SECRET_KEY optional)',
    );
  return parsed as JwtIssuer[];
}

async function keySource(settings: JwtAuthSettings, remote: RemoteKeySetOptions): Promise<KeySource | null> {
  const given = [settings.JWT_PUBLIC_SIGNING_JWK_SET, settings.JWT_JWKS_URL, settings.JWT_PUBLIC_KEY].filter(
    Boolean,
  ).length;
  if (given > 1) throw new Error('set one of JWT_PUBLIC_SIGNING_JWK_SET, JWT_JWKS_URL and JWT_PUBLIC_KEY, not several');
  if (settings.JWT_PUBLIC_SIGNING_JWK_SET) {
    try {
      return { set: createLocalJWKSet(JSON.parse(settings.JWT_PUBLIC_SIGNING_JWK_SET) as JSONWebKeySet) };
    } catch (e) {
      throw new Error(`JWT_PUBLIC_SIGNING_JWK_SET is not a JSON Web Key Set: ${(e as Error).message}`);
    }
  }
  if (settings.JWT_JWKS_URL) return { remote: new RemoteKeySet(new URL(settings.JWT_JWKS_URL), remote).getKey };
  if (!settings.JWT_PUBLIC_KEY) return null;
  // Environment files often carry a PEM on one line with literal "\n".
  const pem = settings.JWT_PUBLIC_KEY.replace(/\\n/g, '\n');
  try {
    const alg = createPublicKey(pem).asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
    return { local: await importSPKI(pem, alg) };
  } catch (e) {
    throw new Error(`JWT_PUBLIC_KEY is not a usable RSA or EC P-256 public key: ${(e as Error).message}`);
  }
}

/** Verifies LMS-issued JWTs: algorithm, signature, issuer, audience, expiry. Failures are AuthExceptions. */
export class JwtVerifier {
  private readonly secrets: Map<string, { issuer: JwtIssuer; key: Uint8Array }>;

  private constructor(
    private readonly keys: KeySource | null,
    private readonly issuers: JwtIssuer[],
  ) {
    this.secrets = new Map(
      issuers
        .filter((i) => i.SECRET_KEY)
        .map((i) => [i.ISSUER, { issuer: i, key: new TextEncoder().encode(i.SECRET_KEY) }]),
    );
  }

  /** Rejects (so the service does not boot) when a key or the issuers are set but unusable. `remote`: timings of JWT_JWKS_URL's cache (tests). */
  static async create(settings: JwtAuthSettings, remote: RemoteKeySetOptions = {}): Promise<JwtVerifier> {
    const verifier = new JwtVerifier(await keySource(settings, remote), parseIssuers(settings));
    if (!verifier.configured)
      new Logger(JwtVerifier.name).warn(`${NOT_CONFIGURED_MESSAGE}; every authenticated request will get 401`);
    return verifier;
  }

  get configured(): boolean {
    return this.keys !== null || this.secrets.size > 0;
  }

  async verify(token: string): Promise<JWTPayload> {
    if (!this.configured) throw new AuthException(AuthErrorCode.NotConfigured, NOT_CONFIGURED_MESSAGE);
    let alg: string | undefined;
    let iss: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch (e) {
      throw new AuthException(AuthErrorCode.TokenInvalid, `the token is not a JWT: ${(e as Error).message}`, {
        reason: 'malformed',
      });
    }
    const options = (issuer: JwtIssuer | JwtIssuer[], algorithms: string[]): JWTVerifyOptions => ({
      issuer: Array.isArray(issuer) ? issuer.map((i) => i.ISSUER) : issuer.ISSUER,
      // One issuer's tokens, its audience (a token of issuer A with issuer B's audience is refused below).
      audience: Array.isArray(issuer) ? issuer.map((i) => i.AUDIENCE) : issuer.AUDIENCE,
      algorithms,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'iat'],
    });
    let payload: JWTPayload;
    if (alg === SYMMETRIC) {
      const secret = iss === undefined ? undefined : this.secrets.get(iss);
      if (!secret)
        throw new AuthException(
          AuthErrorCode.TokenInvalid,
          `the token is not valid: no shared secret is configured for issuer "${iss}" (JWT_ISSUERS)`,
          { reason: 'unknown_issuer' },
        );
      payload = await this.run(() => jwtVerify(token, secret.key, options(secret.issuer, [SYMMETRIC])));
    } else if (alg && ASYMMETRIC.includes(alg)) {
      const keys = this.keys;
      if (!keys)
        throw new AuthException(
          AuthErrorCode.TokenInvalid,
          `the token is not valid: ${alg} tokens need the LMS's public keys (JWT_PUBLIC_SIGNING_JWK_SET)`,
          { reason: 'no_public_keys' },
        );
      const opts = options(this.issuers, ASYMMETRIC);
      payload = await this.run(() =>
        'remote' in keys
          ? jwtVerify(token, keys.remote, opts)
          : 'set' in keys
            ? jwtVerify(token, keys.set, opts)
            : jwtVerify(token, keys.local, opts),
      );
      const issuer = this.issuers.find((i) => i.ISSUER === payload.iss);
      const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!issuer || !audiences.includes(issuer.AUDIENCE)) {
        throw new AuthException(
          AuthErrorCode.TokenInvalid,
          `the token is not valid: audience is not ${issuer?.AUDIENCE ?? "its issuer's"}`,
          { reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
        );
      }
    } else {
      throw new AuthException(
        AuthErrorCode.TokenInvalid,
        `the token is not valid: algorithm ${alg} is not accepted (${[SYMMETRIC, ...ASYMMETRIC].join(', ')})`,
        { reason: 'ERR_JOSE_ALG_NOT_ALLOWED' },
      );
    }
    const major = Number(String(payload.version ?? '1').split('.')[0]);
    if (!(major <= SUPPORTED_MAJOR_VERSION)) {
      throw new AuthException(AuthErrorCode.TokenInvalid, `token version ${String(payload.version)} is not supported`, {
        reason: 'unsupported_version',
      });
    }
    return payload;
  }

  private async run(verify: () => Promise<{ payload: JWTPayload }>): Promise<JWTPayload> {
    try {
      return (await verify()).payload;
    } catch (e) {
      throw translate(e);
    }
  }
}

function translate(e: unknown): unknown {
  // AUTH_KEYS_UNAVAILABLE from the remote key set: no keys could be fetched yet, not a bad token.
  if (e instanceof AuthException) return e;
  if (e instanceof errors.JWTExpired)
    return new AuthException(AuthErrorCode.TokenExpired, 'the token has expired; get a new one from the LMS');
  if (e instanceof errors.JOSEError)
    return new AuthException(AuthErrorCode.TokenInvalid, `the token is not valid: ${e.message}`, { reason: e.code });
  // A key that does not fit the token's algorithm (an EC token against an RSA key): the token's fault, not ours.
  return new AuthException(
    AuthErrorCode.TokenInvalid,
    `the token is not valid: ${(e as Error)?.message ?? String(e)}`,
    { reason: 'key_mismatch' },
  );
}
