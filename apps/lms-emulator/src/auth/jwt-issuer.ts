import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, JWK, JWTPayload, jwtVerify, KeyLike, SignJWT } from 'jose';
import { LmsEmulatorConfig } from '../lms-emulator.config';

/**
 * Signs access tokens as the LMS's oauth_dispatch does (JWT, RS512 by default there; RS256 here) and
 * publishes the public key at /oauth2/jwks.json. The key lives as long as the process.
 */
@Injectable()
export class JwtIssuer implements OnModuleInit {
  private privateKey: KeyLike;
  private publicKey: KeyLike;
  private jwk: JWK;

  constructor(private readonly config: LmsEmulatorConfig) {}

  async onModuleInit(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.jwk = { ...(await exportJWK(publicKey)), kid: randomUUID(), use: 'sig' };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.jwk] };
  }

  sign(claims: JWTPayload, expiresIn: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ version: '1.2.0', filters: [], is_restricted: false, email_verified: true, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: this.jwk.kid, typ: 'JWT' })
      .setIssuer(this.config.LMS_JWT_ISSUER)
      .setAudience(this.config.LMS_JWT_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn)
      .sign(this.privateKey);
  }

  /** The token's claims, or null when it is not one of ours or has expired. */
  async verify(token: string): Promise<JWTPayload | null> {
    try {
      return (await jwtVerify(token, this.publicKey, { issuer: this.config.LMS_JWT_ISSUER, audience: this.config.LMS_JWT_AUDIENCE })).payload;
    } catch {
      return null;
    }
  }
}
