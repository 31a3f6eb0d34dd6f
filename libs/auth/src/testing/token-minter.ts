import { exportJWK, exportSPKI, generateKeyPair, JWK, JWTPayload, KeyLike, SignJWT } from 'jose';
import { DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, JwtAuthSettings } from '../auth.config';

export interface MintOptions {
  /** Seconds from now (default 300); negative mints an already expired token, null one without `exp`. */
  expiresIn?: number | null;
  issuer?: string;
  audience?: string;
  /** The LMS default is RS512. */
  alg?: 'RS256' | 'RS512';
}

/** Signs JWTs the way the LMS does, with a key pair of its own; for tests only. */
export class TokenMinter {
  private constructor(
    private readonly privateKey: KeyLike,
    readonly publicKeyPem: string,
    readonly publicJwk: JWK,
    readonly issuer: string,
    readonly audience: string,
  ) {}

  static async create(options: { issuer?: string; audience?: string; kid?: string } = {}): Promise<TokenMinter> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    // No `alg` in the JWK, as in the LMS key set: one RSA key serves RS256 and RS512.
    const jwk = { ...(await exportJWK(publicKey)), kid: options.kid ?? 'test-key', use: 'sig' };
    return new TokenMinter(
      privateKey,
      await exportSPKI(publicKey),
      jwk,
      options.issuer ?? DEFAULT_JWT_ISSUER,
      options.audience ?? DEFAULT_JWT_AUDIENCE,
    );
  }

  /** Settings under which a JwtVerifier trusts this minter's tokens. */
  get settings(): JwtAuthSettings {
    return { JWT_PUBLIC_KEY: this.publicKeyPem, JWT_ISSUER: this.issuer, JWT_AUDIENCE: this.audience };
  }

  /** The body a JWKS endpoint serves for this minter. */
  get jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  async mint(claims: JWTPayload, options: MintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = options.expiresIn === null ? null : now + (options.expiresIn ?? 300);
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: this.publicJwk.kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? this.audience)
      .setIssuedAt(Math.min(now, (expiresAt ?? now) - 60));
    return (expiresAt === null ? jwt : jwt.setExpirationTime(expiresAt)).sign(this.privateKey);
  }
}
