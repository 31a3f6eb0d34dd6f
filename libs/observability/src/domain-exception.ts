/** How a domain failure maps to HTTP; core code picks a kind, never a status code. */
export type DomainErrorKind =
  | 'invalid'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'precondition_required'
  | 'forbidden'
  | 'unauthenticated'
  | 'unavailable';

/** Base of every module's exception: a stable code, a clear message, optional details. */
export class DomainException extends Error {
  constructor(
    readonly code: string,
    readonly kind: DomainErrorKind,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
