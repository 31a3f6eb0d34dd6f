import { Request } from 'express';
import { LmsHttpError } from './lms-http.error';

/** DRF's DateTimeField: `isoformat()` with `Z` for UTC, the fraction only when there is one. */
export function drfTime(at: Date | string | null): string | null {
  if (at === null) return null;
  const iso = new Date(at).toISOString();
  return iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso.replace('Z', '000Z');
}

/**
 * The absolute URL of this request with `changes` applied to its query (null removes a parameter),
 * parameters sorted as DRF's replace_query_param leaves them.
 */
export function linkTo(req: Request, changes: Record<string, string | null>): string {
  const url = new URL(req.originalUrl, `${req.protocol}://${req.get('host')}`);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  url.searchParams.sort();
  return url.toString();
}

/**
 * edx-drf-extensions' DefaultPagination (DRF PageNumberPagination): `page` from 1, `page_size`
 * up to 100 (anything else falls back to the view's size), and 404 "Invalid page." past the end.
 */
export class PageNumberPage {
  readonly page: number;
  readonly size: number;

  constructor(
    private readonly req: Request,
    defaultSize: number,
  ) {
    const query = req.query as Record<string, unknown>;
    const asked = typeof query.page_size === 'string' && /^\d+$/.test(query.page_size) ? Number(query.page_size) : 0;
    this.size = asked > 0 ? Math.min(asked, 100) : defaultSize;
    const page = query.page === undefined ? '1' : String(query.page);
    if (!/^\d+$/.test(page) || Number(page) < 1) throw invalidPage();
    this.page = Number(page);
  }

  get offset(): number {
    return (this.page - 1) * this.size;
  }

  /** The body, once the total is known: `{next, previous, count, num_pages, current_page, start, results}`. */
  respond<T>(count: number, results: T[]) {
    const numPages = Math.max(1, Math.ceil(count / this.size));
    if (this.page > numPages) throw invalidPage();
    return {
      next: this.page < numPages ? linkTo(this.req, { page: String(this.page + 1) }) : null,
      previous: this.page > 1 ? linkTo(this.req, { page: this.page === 2 ? null : String(this.page - 1) }) : null,
      count,
      num_pages: numPages,
      current_page: this.page,
      start: this.offset,
      results,
    };
  }
}

function invalidPage(): LmsHttpError {
  return new LmsHttpError(404, { detail: 'Invalid page.' });
}
