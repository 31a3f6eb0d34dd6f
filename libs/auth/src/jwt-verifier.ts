import { createPublicKey } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { createRemoteJWKSet, errors, importSPKI, JWTPayload, jwtVerify, JWTVerifyGetKey, JWTVerifyOptions, KeyLike } from 'jose';
import { JwtAuthSettings } from './auth.config';
import { AuthErrorCode, AuthException } from './auth.exception';

// The LMS signs with JWT_SIGNING_ALGORITHM, RS512 by default (lms/envs/common.py); RS256 and ES256 for other issuers.
const ALGORITHMS = ['RS256', 'RS512', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 30;
// As edx-drf-extensions: refuse tokens of a newer major version than we understand.
const SUPPORTED_MAJOR_VERSION = 1;

export const NOT_CONFIGURED_MESSAGE =
  'JWT verification is not configured: set JWT_JWKS_URL (the LMS key set, <LMS root>/oauth2/jwks.json) or JWT_PUBLIC_KEY (a PEM public key)';

type KeySource = { remote: JWTVerifyGetKey } | { local: KeyLike };

async function keySource(settings: JwtAuthSettings): Promise<KeySource | null> {
  if (settings.JWT_JWKS_URL && settings.JWT_PUBLIC_KEY) throw new Error('set either JWT_JWKS_URL or JWT_PUBLIC_KEY, not both');
  if (settings.JWT_JWKS_URL) return { remote: createRemoteJWKSet(new URL(settings.JWT_JWKS_URL)) };
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

/** Verifies LMS-issued JWTs: signature, issuer, audience, expiry. Failures are AuthExceptions. */
export class JwtVerifier {
  private readonly options: JWTVerifyOptions;

  private constructor(private readonly keys: KeySource | null, settings: JwtAuthSettings) {
    this.options = {
      issuer: settings.JWT_ISSUER,
      audience: settings.JWT_AUDIENCE,
      algorithms: ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'iat'],
    };
  }

  /** Rejects (so the service does not boot) when JWT_PUBLIC_KEY is set but unusable. */
  static async create(settings: JwtAuthSettings): Promise<JwtVerifier> {
    const keys = await keySource(settings);
    if (!keys) new Logger(JwtVerifier.name).warn(`${NOT_CONFIGURED_MESSAGE}; every authenticated request will get 401`);
    return new JwtVerifier(keys, settings);
  }

  get configured(): boolean {
    return this.keys !== null;
  }

  async verify(token: string): Promise<JWTPayload> {
    const keys = this.keys;
    if (!keys) throw new AuthException(AuthErrorCode.NotConfigured, NOT_CONFIGURED_MESSAGE);
    let payload: JWTPayload;
    try {
      ({ payload } = 'remote' in keys ? await jwtVerify(token, keys.remote, this.options) : await jwtVerify(token, keys.local, this.options));
    } catch (e) {
      throw translate(e, 'remote' in keys);
    }
    const major = Number(String(payload.version ?? '1').split('.')[0]);
    if (!(major <= SUPPORTED_MAJOR_VERSION)) {
      throw new AuthException(AuthErrorCode.TokenInvalid, `token version ${String(payload.version)} is not supported`, { reason: 'unsupported_version' });
    }
    return payload;
  }
}

function translate(e: unknown, remote: boolean): unknown {
  if (e instanceof errors.JWTExpired) return new AuthException(AuthErrorCode.TokenExpired, 'the token has expired; get a new one from the LMS');
  // Network failures, timeouts, non-200 or non-JSON key set responses: the key source is down, not the token bad.
  const keySetDown = e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || !(e instanceof errors.JOSEError) || e.code === 'ERR_JOSE_GENERIC';
  if (remote && keySetDown) {
    return new AuthException(AuthErrorCode.KeysUnavailable, 'the JWT signing keys could not be fetched; try again later');
  }
  if (e instanceof errors.JOSEError) return new AuthException(AuthErrorCode.TokenInvalid, `the token is not valid: ${e.message}`, { reason: e.code });
  return e;
}
