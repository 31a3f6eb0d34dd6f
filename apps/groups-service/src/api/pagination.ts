import { Injectable } from '@nestjs/common';
import { Request } from 'express';
import { GroupsErrorCode, GroupsException } from '../groups/groups.exception';
import { GroupsServiceConfig } from '../groups-service.config';

export interface Page<T> {
  count: number;
  num_pages: number;
  current_page: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export function pageWindow(
  query: { page?: number; page_size?: number },
  defaultSize = 20,
): { page: number; size: number; offset: number } {
  const page = query.page ?? 1;
  const size = query.page_size ?? defaultSize;
  return { page, size, offset: (page - 1) * size };
}

/**
 * DRF's PageNumberPagination body. Its links are absolute, as DRF's (clients follow `next` as it
 * is), but start with PUBLIC_BASE_URL: a Host header is the caller's to choose, and a link built
 * from it would send the next request, token included, wherever the caller said.
 */
@Injectable()
export class Pagination {
  private readonly base: URL;

  constructor(config: GroupsServiceConfig) {
    this.base = new URL(config.PUBLIC_BASE_URL ?? `http://127.0.0.1:${config.PORT}`);
  }

  /** A page past the end is a 404, as in DRF. */
  page<T>(req: Request, window: { page: number; size: number }, count: number, results: T[]): Page<T> {
    const numPages = Math.max(1, Math.ceil(count / window.size));
    if (window.page > numPages)
      throw new GroupsException(
        GroupsErrorCode.PageNotFound,
        `page ${window.page} does not exist; there are ${numPages}`,
      );
    // Only the path and query of the request are kept (parsed against a placeholder origin).
    const asked = new URL(req.originalUrl, 'http://request.invalid');
    const link = (page: number) => {
      const url = new URL(this.base);
      url.pathname = `${this.base.pathname.replace(/\/$/, '')}${asked.pathname}`;
      url.search = asked.search;
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
}
