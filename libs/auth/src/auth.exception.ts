import { DomainErrorKind, DomainException } from '@groups-sync/observability';

export enum AuthErrorCode {
  TokenMissing = 'AUTH_TOKEN_MISSING',
  TokenInvalid = 'AUTH_TOKEN_INVALID',
  TokenExpired = 'AUTH_TOKEN_EXPIRED',
  NotConfigured = 'AUTH_NOT_CONFIGURED',
  KeysUnavailable = 'AUTH_KEYS_UNAVAILABLE',
  RolesUnavailable = 'AUTH_ROLES_UNAVAILABLE',
  CsrfFailed = 'CSRF_FAILED',
  ForbiddenScope = 'FORBIDDEN_SCOPE',
}

const KIND: Record<AuthErrorCode, DomainErrorKind> = {
  [AuthErrorCode.TokenMissing]: 'unauthenticated',
  [AuthErrorCode.TokenInvalid]: 'unauthenticated',
  [AuthErrorCode.TokenExpired]: 'unauthenticated',
  // Fail closed: with no key to verify against, no caller is authenticated.
  [AuthErrorCode.NotConfigured]: 'unauthenticated',
  // The key set could not be fetched: our outage, not a bad token, so clients should not re-login.
  [AuthErrorCode.KeysUnavailable]: 'unavailable',
  [AuthErrorCode.RolesUnavailable]: 'unavailable',
  // A cookie-authenticated write without the CSRF token (as Django answers: 403).
  [AuthErrorCode.CsrfFailed]: 'forbidden',
  [AuthErrorCode.ForbiddenScope]: 'forbidden',
};

export class AuthException extends DomainException {
  constructor(code: AuthErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, KIND[code], message, details);
  }
}
