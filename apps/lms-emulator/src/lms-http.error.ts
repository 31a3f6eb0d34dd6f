import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Request, Response } from 'express';

/** An error answered with the exact body edx-platform sends (`developer_message`/`error_code`, or DRF's `detail`). */
export class LmsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

export function lmsError(status: number, errorCode: string, developerMessage: string): LmsHttpError {
  return new LmsHttpError(status, { developer_message: developerMessage, error_code: errorCode });
}

/**
 * Keeps LMS-shaped bodies on the emulator's LMS endpoints (DRF puts messages under `detail`). Every
 * 5xx it answers is logged with its cause: the body, like Django's, says nothing.
 */
@Catch()
export class LmsErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('LmsErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const status =
      exception instanceof LmsHttpError
        ? exception.status
        : exception instanceof HttpException
          ? exception.getStatus()
          : 500;
    if (status >= 500)
      this.logger.error(
        `${status} on ${req.method} ${req.originalUrl}: ${(exception as Error)?.message ?? String(exception)}`,
        (exception as Error)?.stack,
      );
    if (exception instanceof LmsHttpError) {
      // null: a DRF view's bare `Response(status=...)`, an empty JSON response.
      if (exception.body === null) res.status(exception.status).type('application/json').end();
      else if (typeof exception.body === 'string') res.status(exception.status).type('text/html').send(exception.body);
      else res.status(exception.status).json(exception.body);
    } else if (exception instanceof HttpException) {
      const body = exception.getResponse() as { message?: unknown };
      res
        .status(exception.getStatus())
        .json({ detail: Array.isArray(body.message) ? body.message.join('; ') : (body.message ?? exception.message) });
    } else {
      res.status(500).type('text/html').send('<h1>Server Error (500)</h1>');
    }
  }
}
