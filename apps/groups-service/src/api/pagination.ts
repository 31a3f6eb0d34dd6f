import { Request } from 'express';
import { GroupsErrorCode, GroupsException } from '../groups/groups.exception';

export interface Page<T> {
  count: number;
  num_pages: number;
  current_page: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export function pageWindow(query: { page?: number; page_size?: number }, defaultSize = 20): { page: number; size: number; offset: number } {
  const page = query.page ?? 1;
  const size = query.page_size ?? defaultSize;
  return { page, size, offset: (page - 1) * size };
}

/** DRF's PageNumberPagination body; a page past the end is a 404, as in DRF. */
export function toPage<T>(req: Request, window: { page: number; size: number }, count: number, results: T[]): Page<T> {
  const numPages = Math.max(1, Math.ceil(count / window.size));
  if (window.page > numPages) throw new GroupsException(GroupsErrorCode.PageNotFound, `page ${window.page} does not exist; there are ${numPages}`);
  const link = (page: number) => {
    const url = new URL(req.originalUrl, `${req.protocol}://${req.get('host')}`);
    url.searchParams.set('page', String(page));
    return url.toString();
  };
  return {
    count,
    num_pages: numPages,
    current_page: window.page,
    next: window.page < numPages ? link(window.page + 1) : null,
    previous: window.page > 1 ? link(window.page - 1) : null,
    results,
  };
}
