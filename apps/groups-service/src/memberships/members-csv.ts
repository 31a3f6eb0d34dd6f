import { parse } from 'csv-parse';
import { DomainException } from '@groups-sync/observability';
import { EMAIL_PATTERN, USERNAME_PATTERN } from './dto/member-ref.dto';
import { AddResult } from './membership-writer';
import { MemberResult } from './memberships.service';
import { mapInSlices } from '../api/in-slices';

/** Largest CSV import: rows after the header, and bytes. */
export const CSV_MAX_ROWS = 50_000;
export const CSV_MAX_BYTES = 10 * 1024 * 1024;

export interface CsvMemberRow {
  row: number;
  username?: string;
  email?: string;
  problem?: string;
}

export interface CsvImportReport {
  summary: { rows: number } & Record<AddResult, number>;
  results: Array<{ row: number } & MemberResult<AddResult>>;
}

/** A file over CSV_MAX_BYTES, however it came (multipart or a text/csv body). */
export function csvTooLarge(): DomainException {
  return csvError('CSV_TOO_LARGE', `at most ${CSV_MAX_BYTES / 1024 / 1024} MB per file`);
}

function csvError(code: string, message: string, details?: Record<string, unknown>): DomainException {
  return new DomainException(code, 'invalid', message, details);
}

/** Bytes of CSV parsed between two turns of the event loop (a few ms of work here). */
const PARSE_SLICE = 8 * 1024;

/**
 * Reads an import file: a header row naming a `username` or an `email` column (or both; case and
 * spaces ignored; other columns, such as the LMS's `cohort`, are ignored), then one user per row.
 * A row that names nobody or holds a malformed value is reported, not fatal; a file that is not
 * CSV, or has neither column, is refused as a whole. Row numbers are the file's line numbers (the
 * last line, for a row with a quoted line break).
 * Parsed a slice at a time, giving the event loop back between slices: 50,000 rows in one go
 * would stall every other request, consumer heartbeat and probe of the instance.
 */
export async function parseMembersCsv(text: string): Promise<CsvMemberRow[]> {
  const records: Array<{ record: Record<string, string>; info: { lines: number } }> = [];
  let failure: Error | undefined;
  const parser = parse({
    bom: true,
    columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
    skip_empty_lines: true,
    trim: true,
    relax_column_count: true,
    info: true,
  });
  parser.on('data', (r: { record: Record<string, string>; info: { lines: number } }) => records.push(r));
  parser.on('error', (error: Error) => (failure ??= error));
  const ended = new Promise<void>((resolve) => parser.once('end', resolve).once('error', () => resolve()));
  // Cut at line ends: never inside a character, and a quoted field cut in two is the parser's to join.
  for (let at = 0; at < text.length && !failure && records.length <= CSV_MAX_ROWS;) {
    // First a turn of the event loop: reading the file whole (up to 10 MB) took this one.
    await new Promise((resolve) => setImmediate(resolve));
    const cut = text.indexOf('\n', at + PARSE_SLICE);
    const next = cut === -1 ? text.length : cut + 1;
    parser.write(text.slice(at, next));
    at = next;
  }
  parser.end();
  await ended;
  if (records.length > CSV_MAX_ROWS)
    throw csvError('CSV_TOO_MANY_ROWS', `at most ${CSV_MAX_ROWS} rows per file; split it`, { max_rows: CSV_MAX_ROWS });
  if (failure) throw csvError('CSV_INVALID', `the file is not valid CSV: ${failure.message}`);
  if (!records.length) {
    if (!/\S/.test(text))
      throw csvError('CSV_EMPTY', 'the file is empty; expected a header row with a username or email column');
    // Only a header row: nothing to do, but the header must still be right.
    const header = text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)[0]
      .split(',')
      .map((h) => h.trim().toLowerCase().replace(/^"|"$/g, ''));
    if (!header.includes('username') && !header.includes('email')) throw missingColumns(header);
    return [];
  }
  const columns = Object.keys(records[0].record);
  if (!columns.includes('username') && !columns.includes('email')) throw missingColumns(columns);
  return mapInSlices(records, ({ record, info }) => {
    const username = unescapeCell(record.username ?? '') || undefined;
    const email = unescapeCell(record.email ?? '') || undefined;
    const row: CsvMemberRow = { row: info.lines, ...(username ? { username } : {}), ...(email ? { email } : {}) };
    if (!username && !email) row.problem = 'the row has neither a username nor an email';
    else if (username && (username.length > 150 || !USERNAME_PATTERN.test(username)))
      row.problem = 'username may contain letters, digits and @.+-_ (at most 150)';
    else if (email && (email.length > 254 || !EMAIL_PATTERN.test(email)))
      row.problem = 'email must look like name@domain';
    return row;
  });
}

function missingColumns(columns: string[]): DomainException {
  return csvError('CSV_COLUMNS_MISSING', 'the header row needs a username or an email column', { columns });
}

/** One result per row: a refused one for each malformed row, else the next of `added` (results of the valid rows, in order). */
export function rowResults(
  rows: CsvMemberRow[],
  added: Array<MemberResult<AddResult>>,
): Promise<Array<MemberResult<AddResult>>> {
  let next = 0;
  return mapInSlices(rows, (r) =>
    r.problem
      ? {
          user_id: null,
          username: r.username ?? null,
          ...(r.email ? { email: r.email } : {}),
          result: 'refused' as const,
          reason: r.problem,
        }
      : added[next++],
  );
}

export async function importReport(
  rows: CsvMemberRow[],
  results: Array<MemberResult<AddResult>>,
): Promise<CsvImportReport> {
  const summary = { rows: rows.length, added: 0, already_member: 0, unknown: 0, refused: 0 };
  const lines = await mapInSlices(rows, (row, i) => {
    summary[results[i].result]++;
    return { row: row.row, ...results[i] };
  });
  return { summary, results: lines };
}

/**
 * Spreadsheets run a cell that starts with = + - @ (or a tab or CR) as a formula, so exported
 * cells that do are prefixed with a quote; imports take the quote off again.
 */
export function escapeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function unescapeCell(value: string): string {
  return /^'[=+\-@\t\r]/.test(value) ? value.slice(1) : value;
}
