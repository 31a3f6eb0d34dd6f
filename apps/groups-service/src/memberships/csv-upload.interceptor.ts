import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Request, Response } from 'express';
import multer, { MulterError } from 'multer';
import { Observable } from 'rxjs';
import { DomainException } from '@groups-sync/observability';
import { CSV_MAX_BYTES, csvTooLarge } from './members-csv';

/** Besides its one file, an upload form holds at most a browser's few fields (a CSRF token), none large. */
export const CSV_FORM_MAX_FIELDS = 20;
export const CSV_FORM_MAX_FIELD_BYTES = 16 * 1024;

const LIMITS = {
  fileSize: CSV_MAX_BYTES,
  files: 1,
  fields: CSV_FORM_MAX_FIELDS,
  fieldSize: CSV_FORM_MAX_FIELD_BYTES,
  fieldNameSize: 100,
  parts: CSV_FORM_MAX_FIELDS + 1,
  headerPairs: 20,
};

const FORM_PROBLEMS: Record<string, string> = {
  LIMIT_PART_COUNT: `too many fields: send the file (field "file") and at most ${CSV_FORM_MAX_FIELDS} other fields`,
  LIMIT_FIELD_COUNT: `too many fields: send the file (field "file") and at most ${CSV_FORM_MAX_FIELDS} other fields`,
  LIMIT_FIELD_VALUE: `a form field is too long (at most ${CSV_FORM_MAX_FIELD_BYTES / 1024} kB): send the CSV as the file field "file"`,
  LIMIT_FIELD_KEY: 'a form field name is too long (at most 100 bytes)',
  LIMIT_FILE_COUNT: 'send one file, in the field "file"',
  LIMIT_UNEXPECTED_FILE: 'send one file, in the field "file"',
};

/** Every failure here is the form the client sent (the file stays in memory): a 400 that says which limit. */
function formError(error: unknown): DomainException {
  if (error instanceof MulterError && error.code === 'LIMIT_FILE_SIZE') {
    return csvTooLarge();
  }
  const problem = error instanceof MulterError ? FORM_PROBLEMS[error.code] : undefined;
  return new DomainException(
    'CSV_FORM_INVALID',
    'invalid',
    problem ?? `the multipart form could not be read: ${(error as Error).message}`,
  );
}

/** Reads a multipart CSV upload (field `file`) into memory, within tight limits; other bodies are left to the handler. */
@Injectable()
export class CsvUploadInterceptor implements NestInterceptor {
  private readonly upload = multer({ limits: LIMITS }).single('file');

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    await new Promise<void>((resolve, reject) => {
      this.upload(http.getRequest<Request>(), http.getResponse<Response>(), (error: unknown) =>
        error ? reject(formError(error)) : resolve(),
      );
    });
    return next.handle();
  }
}
