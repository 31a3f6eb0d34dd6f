import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { Response } from 'express';
import { DomainErrorKind, DomainException } from './domain-exception';
import { isUnavailable } from './outages';

const STATUS: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  precondition_failed: HttpStatus.PRECONDITION_FAILED,
  precondition_required: HttpStatus.PRECONDITION_REQUIRED,
  forbidden: HttpStatus.FORBIDDEN,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/** One error body everywhere: `{code, message, details}`. */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof DomainException) {
      res
        .status(STATUS[exception.kind])
        .json({ code: exception.code, message: exception.message, details: exception.details ?? {} });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse() as { message?: string | string[]; error?: string } | string;
      const messages =
        typeof body === 'string'
          ? [body]
          : Array.isArray(body.message)
            ? body.message
            : [body.message ?? exception.message];
      const code =
        status === 400
          ? 'VALIDATION_FAILED'
          : (typeof body === 'object' && body.error ? body.error : 'HTTP_ERROR').toUpperCase().replace(/\W+/g, '_');
      res
        .status(status)
        .json({ code, message: messages.join('; '), details: status === 400 ? { errors: messages } : {} });
      return;
    }
    // body-parser and multer raise http-errors (a 4xx `status`, e.g. 413 for a body over the limit)
    // before any handler runs: the client's fault, so the client's status.
    const clientError = exception as { status?: unknown; type?: unknown; code?: unknown; message?: unknown };
    if (typeof clientError?.status === 'number' && clientError.status >= 400 && clientError.status < 500) {
      const code = String(clientError.type ?? clientError.code ?? 'bad request')
        .toUpperCase()
        .replace(/\W+/g, '_');
      res.status(clientError.status).json({ code, message: String(clientError.message ?? 'bad request'), details: {} });
      return;
    }
    // Something the service needs is down or saturated (marked as consumers recognise it): the
    // request may succeed later, and is the service's problem, not the caller's.
    if (isUnavailable(exception)) {
      this.logger.warn(`answered 503: ${(exception as Error).message}`);
      res.status(503).json({
        code: 'SERVICE_UNAVAILABLE',
        message: 'a dependency of this service is unavailable or saturated; try again shortly',
        details: {},
      });
      return;
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    res.status(500).json({ code: 'INTERNAL_ERROR', message: 'unexpected error; see the service log', details: {} });
  }
}
