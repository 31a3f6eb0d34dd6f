import { Counter } from 'prom-client';
import { metric } from '@groups-sync/messaging';
import { LmsClientConfig } from './lms-client.config';
import { LmsDeadlineError, LmsRejectedError, LmsUnavailableError } from './lms-api.error';

const apiErrors = metric(
  'lms_api_errors_total',
  () => new Counter({ name: 'lms_api_errors_total', help: 'LMS API calls that failed', labelNames: ['kind'] }),
);

/** Waits for a 429's Retry-After within one call, at most this often and this long each. */
const RATE_LIMIT_RETRIES = 5;
const RETRY_AFTER_MAX_MS = 60_000;

export interface LmsCallOptions {
  /** Statuses that mean "nothing here" (answered with null) rather than an error. */
  emptyOn?: number[];
  /** The same, only when the body is empty: edx-platform's AccountViewSet answers a staff caller a bare 403 for "no such user", DRF's permission denial has a `detail`. */
  emptyWhenBodyless?: number[];
  /** Epoch ms: no call starts after it and no Retry-After is waited past it (LmsDeadlineError). */
  deadline?: number;
}

/**
 * JSON calls to the LMS's REST APIs as an OAuth2 client: client_credentials grant with JWT
 * tokens, cached until shortly before they expire and fetched again once on a 401. Errors are
 * sorted into worth-retrying (5xx, 429, timeouts: LmsUnavailableError) and final (other 4xx).
 */
export class LmsApiClient {
  private token?: { value: string; expiresAt: number };
  private readonly baseUrl: string;

  /**
   * `baseUrl`: another API that trusts the LMS's tokens (a sibling service) instead of the LMS;
   * `scope`: the scopes to ask the LMS for (its default, `read write`, when not given);
   * `tokenType`: `jwt` (default; `Authorization: JWT`, what edx-drf-extensions' JwtAuthentication
   * reads) or `bearer` (an opaque OAuth2 token, `Authorization: Bearer`, for LMS views that only
   * take BearerAuthentication, such as the teams API).
   */
  constructor(
    private readonly config: LmsClientConfig,
    private readonly options: { baseUrl?: string; scope?: string; tokenType?: 'jwt' | 'bearer' } = {},
  ) {
    this.baseUrl = options.baseUrl ?? config.LMS_BASE_URL;
  }

  async call<T>(method: string, path: string, body?: unknown, options: LmsCallOptions = {}): Promise<T | null> {
    let refreshed = false;
    let rateLimited = 0;
    for (;;) {
      const remaining = options.deadline === undefined ? Infinity : options.deadline - Date.now();
      if (remaining <= 0) throw new LmsDeadlineError(`LMS ${method} ${path}: the request's deadline passed`);
      const res = await this.fetch(method, path, body, await this.accessToken(), remaining);
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        this.token = undefined; // expired or revoked: get a new one once
        continue;
      }
      // The LMS's rate limit (django-ratelimit, DRF throttles) says when to come back: wait that
      // long here, so a throttled call costs time, never a message's retry budget.
      const retryAfter = res.status === 429 ? retryAfterMs(res.headers.get('retry-after')) : null;
      if (retryAfter !== null && rateLimited++ < RATE_LIMIT_RETRIES) {
        apiErrors.inc({ kind: 'rate_limited' });
        await res.text().catch(() => undefined);
        const wait = Math.min(retryAfter, RETRY_AFTER_MAX_MS);
        if (options.deadline !== undefined && Date.now() + wait > options.deadline) {
          throw new LmsDeadlineError(
            `LMS ${method} ${path}: rate limited for ${Math.ceil(wait / 1000)} s, past the request's deadline`,
          );
        }
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (options.emptyOn?.includes(res.status)) return null;
      const text = await this.body(res, `LMS ${method} ${path}`);
      if (!text.trim() && options.emptyWhenBodyless?.includes(res.status)) return null;
      if (res.status >= 500 || res.status === 429) {
        apiErrors.inc({ kind: 'unavailable' });
        throw new LmsUnavailableError(`LMS ${method} ${path}: ${res.status}`, res.status !== 500);
      }
      if (res.status >= 400) {
        apiErrors.inc({ kind: res.status === 401 || res.status === 403 ? 'access_denied' : 'rejected' });
        let code: string | undefined;
        let message = text.slice(0, 500);
        try {
          const parsed = JSON.parse(text) as { error_code?: string; developer_message?: string; detail?: string };
          code = parsed.error_code;
          message = parsed.developer_message ?? parsed.detail ?? message;
        } catch {
          /* not JSON */
        }
        throw new LmsRejectedError(res.status, code, `LMS ${method} ${path}: ${res.status} ${message}`);
      }
      try {
        return (text ? JSON.parse(text) : null) as T;
      } catch {
        // A 2xx that is not JSON is a proxy's or load balancer's page (maintenance, login), not the LMS's answer.
        apiErrors.inc({ kind: 'unavailable' });
        throw new LmsUnavailableError(
          `LMS ${method} ${path}: ${res.status} answer is not JSON: ${text.slice(0, 100)}`,
          true,
        );
      }
    }
  }

  /** The body, read under the request's timeout: one that stops arriving is the LMS being unavailable, like a connection that fails. */
  private async body(res: Response, what: string): Promise<string> {
    try {
      return await res.text();
    } catch (error) {
      apiErrors.inc({ kind: 'unreachable' });
      throw new LmsUnavailableError(`${what}: reading the answer failed: ${(error as Error).message}`, true);
    }
  }

  private async fetch(
    method: string,
    path: string,
    body: unknown,
    token: string,
    remaining = Infinity,
  ): Promise<Response> {
    const timeout = Math.min(this.config.LMS_TIMEOUT_MS, remaining);
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `${this.options.tokenType === 'bearer' ? 'Bearer' : 'JWT'} ${token}`,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeout),
      });
    } catch (error) {
      if (timeout < this.config.LMS_TIMEOUT_MS && (error as Error).name === 'TimeoutError') {
        throw new LmsDeadlineError(`LMS ${method} ${path}: no answer before the request's deadline`);
      }
      apiErrors.inc({ kind: 'unreachable' });
      throw new LmsUnavailableError(`LMS ${method} ${path}: ${(error as Error).message}`, true);
    }
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 30_000) return this.token.value;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.config.LMS_OAUTH_CLIENT_ID,
      client_secret: this.config.LMS_OAUTH_CLIENT_SECRET,
      ...(this.options.tokenType === 'bearer' ? {} : { token_type: 'jwt' }),
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    });
    let tokenRes: Response;
    try {
      tokenRes = await fetch(`${this.config.LMS_BASE_URL}/oauth2/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
        signal: AbortSignal.timeout(this.config.LMS_TIMEOUT_MS),
      });
    } catch (error) {
      apiErrors.inc({ kind: 'unreachable' });
      throw new LmsUnavailableError(`LMS token: ${(error as Error).message}`, true);
    }
    if (tokenRes.status >= 500) throw new LmsUnavailableError(`LMS token: ${tokenRes.status}`, tokenRes.status !== 500);
    if (!tokenRes.ok)
      throw new LmsUnavailableError(`LMS token refused (${tokenRes.status}): check LMS_OAUTH_CLIENT_ID/SECRET`, true);
    let json: { access_token: string; expires_in: number };
    const text = await this.body(tokenRes, 'LMS token');
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new LmsUnavailableError(`LMS token: ${tokenRes.status} answer is not JSON: ${text.slice(0, 100)}`, true);
    }
    this.token = { value: json.access_token, expiresAt: Date.now() + json.expires_in * 1000 };
    return this.token.value;
  }
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
