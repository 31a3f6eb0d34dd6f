/** The LMS answered 5xx, timed out or could not be reached: worth retrying. */
export class LmsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LmsUnavailableError';
  }
}

/** The LMS refused the request for good (4xx): retrying would not help. */
export class LmsRejectedError extends Error {
  constructor(readonly status: number, readonly errorCode: string | undefined, message: string) {
    super(message);
    this.name = 'LmsRejectedError';
  }
}
