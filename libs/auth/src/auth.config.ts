/** The LMS devstack issuer (`JWT_AUTH['JWT_ISSUER']` is `<LMS root>/oauth2`). */
export const DEFAULT_JWT_ISSUER = 'http://127.0.0.1:18000/oauth2';
export const DEFAULT_JWT_AUDIENCE = 'openedx';

/** The config fields the auth module reads; GroupsServiceConfig satisfies it. */
export interface JwtAuthSettings {
  /** The LMS publishes its public keys at `<LMS root>/oauth2/jwks.json`. */
  JWT_JWKS_URL?: string;
  /** A PEM `-----BEGIN PUBLIC KEY-----` (RSA or EC P-256); `\n` escapes are accepted. */
  JWT_PUBLIC_KEY?: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}

