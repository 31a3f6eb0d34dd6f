/**
 * The LMS answered 5xx or 429, timed out or could not be reached: worth retrying. When the LMS as a
 * whole looks down (no connection, a timeout, 502/503/504, 429, a body that stops arriving, a 2xx
 * that is not JSON: a proxy's page) the error says so with
 * `dependencyUnavailable`, and consumers wait for the LMS without spending the message's retry
 * budget; a plain 500 may be this request's own fault, so it does spend it.
 */
export class LmsUnavailableError extends Error {
  constructor(
    message: string,
    readonly dependencyUnavailable: boolean,
  ) {
    super(message);
    this.name = 'LmsUnavailableError';
  }
}

/** The LMS refused the request for good (4xx): retrying would not help. */
export class LmsRejectedError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'LmsRejectedError';
  }
}

/** The caller's deadline passed, or a Retry-After would outlast it: the LMS was not asked (again). */
export class LmsDeadlineError extends LmsUnavailableError {
  constructor(message: string) {
    super(message, true);
    this.name = 'LmsDeadlineError';
  }
}
