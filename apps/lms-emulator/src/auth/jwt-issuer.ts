import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair, JWK, JWTPayload, jwtVerify, KeyLike, SignJWT } from 'jose';
import { LmsEmulatorConfig } from '../lms-emulator.config';

/**
 * Signs access tokens as the LMS's oauth_dispatch does (openedx/core/djangoapps/oauth_dispatch/jwt.py):
 * HS256 with JWT_AUTH['JWT_SECRET_KEY'] unless the client asks for `asymmetric_jwt`, then RS512 with
 * its private signing key. The public key is published at /oauth2/jwks.json (a convenience of the
 * emulator: the LMS gives its JWT_PUBLIC_SIGNING_JWK_SET to services as a setting). The key pair lives
 * as long as the process.
 */
@Injectable()
export class JwtIssuer implements OnModuleInit {
  private privateKey: KeyLike;
  private publicKey: KeyLike;
  private jwk: JWK;
  private secret: Uint8Array;

  constructor(private readonly config: LmsEmulatorConfig) {}

  async onModuleInit(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS512', { extractable: true });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.jwk = { ...(await exportJWK(publicKey)), kid: randomUUID(), use: 'sig' };
    this.secret = new TextEncoder().encode(this.config.LMS_JWT_SECRET_KEY);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.jwk] };
  }

  sign(claims: JWTPayload, expiresIn: number, options: { asymmetric?: boolean } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ version: '1.2.0', filters: [], is_restricted: false, email_verified: true, ...claims })
      .setIssuer(this.config.LMS_JWT_ISSUER)
      .setAudience(this.config.LMS_JWT_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn);
    return options.asymmetric
      ? jwt.setProtectedHeader({ alg: 'RS512', kid: this.jwk.kid, typ: 'JWT' }).sign(this.privateKey)
      : jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.secret);
  }

  /** The token's claims, or null when it is not one of ours or has expired. */
  async verify(token: string): Promise<JWTPayload | null> {
    try {
      const symmetric = decodeProtectedHeader(token).alg === 'HS256';
      const options = {
        issuer: this.config.LMS_JWT_ISSUER,
        audience: this.config.LMS_JWT_AUDIENCE,
        algorithms: [symmetric ? 'HS256' : 'RS512'],
      };
      return (
        symmetric ? await jwtVerify(token, this.secret, options) : await jwtVerify(token, this.publicKey, options)
      ).payload;
    } catch {
      return null;
    }
  }
}
