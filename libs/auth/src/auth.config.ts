/** The LMS devstack issuer (`JWT_AUTH['JWT_ISSUER']` is `<LMS root>/oauth2`). */
export const DEFAULT_JWT_ISSUER = 'http://127.0.0.1:18000/oauth2';
export const DEFAULT_JWT_AUDIENCE = 'openedx';

/** The config fields the auth module reads; GroupsServiceConfig satisfies it. */
export interface JwtAuthSettings {
  /**
   * edx-drf-extensions' JWT_ISSUERS, as JSON: `[{"ISSUER": "<LMS root>/oauth2", "AUDIENCE": "...",
   * "SECRET_KEY": "..."}]`. The SECRET_KEY is the LMS's JWT_AUTH['JWT_SECRET_KEY'], which signs the
   * HS256 tokens it issues by default. Unset: one issuer, JWT_ISSUER / JWT_AUDIENCE, without a secret.
   */
  JWT_ISSUERS?: string;
  /** The LMS's JWT_PUBLIC_SIGNING_JWK_SET (a JSON key set): the keys of its asymmetric (RS512) tokens. */
  JWT_PUBLIC_SIGNING_JWK_SET?: string;
  /** Or a URL that serves that key set (some sites publish it; the LMS itself no longer does). */
  JWT_JWKS_URL?: string;
  /** Or one PEM `-----BEGIN PUBLIC KEY-----` (RSA or EC P-256); `\n` escapes are accepted. */
  JWT_PUBLIC_KEY?: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  /**
   * Service clients admitted by who they are, no custom OAuth scope needed: comma-separated
   * `<username>[:read|:write]` (write when unsaid). A client_credentials token names the
   * OAuth application's service user in `preferred_username`.
   */
  SERVICE_USERS?: string;
  /** Course roles are read from the LMS: its database (read-only user) when set, else its roles API. */
  LMS_BASE_URL?: string;
  LMS_DB_URL?: string;
  COURSE_ROLES_CACHE_SECONDS?: number;
}
