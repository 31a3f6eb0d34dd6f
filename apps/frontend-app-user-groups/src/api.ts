import { getAuthenticatedUser, redirectToLogin } from './auth';
import { getConfig } from './config';

/** An API's refusal: its status and the services' error body `{code, message, details}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Api = 'groups' | 'legacy';
const base = (api: Api) =>
  api === 'groups'
    ? `${getConfig().USER_GROUPS_API_BASE_URL}/api/user-groups/v1`
    : `${getConfig().LEGACY_SYNC_API_BASE_URL}/api/legacy-sync/v1`;

/** One CSRF token per origin, as frontend-platform's AxiosCsrfTokenService keeps them. */
const csrfTokens = new Map<string, Promise<string>>();
function csrfToken(url: string): Promise<string> {
  const origin = new URL(url, window.location.href).origin;
  let token = csrfTokens.get(origin);
  if (!token) {
    token = fetch(`${origin}${getConfig().CSRF_TOKEN_API_PATH}`, {
      credentials: 'include',
      headers: { 'USE-JWT-COOKIE': 'true' },
    }).then(async (r) => {
      const body = r.ok ? ((await r.json()) as { csrfToken?: string }) : {};
      if (!body.csrfToken) throw new Error(`no CSRF token from ${origin} (${r.status})`);
      return body.csrfToken;
    });
    token.catch(() => csrfTokens.delete(origin));
    csrfTokens.set(origin, token);
  }
  return token;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  form?: FormData;
  headers?: Record<string, string>;
}

export function apiUrl(api: Api, path: string, query: RequestOptions['query'] = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, String(value));
  const search = params.toString();
  return `${base(api)}${path}${search ? `?${search}` : ''}`;
}

/**
 * An authenticated call: the JWT cookies (refreshed when stale), and the CSRF token on writes; a
 * write refused for its CSRF token (the cookie rotated) is sent once more with a fresh one.
 */
export async function call<T>(api: Api, path: string, options: RequestOptions = {}): Promise<T> {
  try {
    return await send<T>(api, path, options);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'CSRF_FAILED')) throw error;
    csrfTokens.delete(new URL(apiUrl(api, path), window.location.href).origin);
    return send<T>(api, path, options);
  }
}

async function send<T>(api: Api, path: string, options: RequestOptions): Promise<T> {
  if (!(await getAuthenticatedUser())) redirectToLogin();
  const url = apiUrl(api, path, options.query);
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', 'USE-JWT-COOKIE': 'true', ...options.headers };
  if (method !== 'GET') headers['X-CSRFToken'] = await csrfToken(url);
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    credentials: 'include',
    // Live data: never an answer from the browser's cache.
    cache: 'no-store',
    headers,
    body: options.form ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
  });
  if (response.status === 401) redirectToLogin();
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (body ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    throw new ApiError(
      response.status,
      error.code ?? String(response.status),
      error.message ?? response.statusText,
      error.details,
    );
  }
  return body as T;
}

export interface Page<T> {
  count: number;
  num_pages: number;
  current_page: number;
  results: T[];
}

export interface LegacyLink {
  type: 'cohort' | 'team' | 'enrollment_track';
  cohort_id?: number | null;
  team_id?: string;
  teamset_id?: string;
  mode?: string;
  [key: string]: unknown;
}

export interface Group {
  id: string;
  name: string;
  description?: string;
  scope_type: 'course' | 'org' | 'instance';
  scope_key: string;
  kind: 'manual' | 'dynamic' | 'legacy';
  enabled?: boolean;
  frozen?: boolean;
  collection?: string | null;
  member_count?: number;
  criteria?: Array<{ type: string; operator: string; value: unknown }>;
  legacy_link?: LegacyLink | null;
  last_refreshed_at?: string | null;
  carry_over_on_rerun?: boolean;
  rerun_of?: { group_id: string; course_key: string } | null;
  evaluation_error?: { error: string; failed_at: string } | null;
  version?: number;
  [key: string]: unknown;
}

export interface Member {
  user_id: number;
  username: string;
  active: boolean;
  origin: string;
  joined_at: string;
  left_at: string | null;
  sync_state: 'pending' | 'synced' | 'rejected' | null;
  sync_error: string | null;
}

export interface AuditEntry {
  id: number;
  action: string;
  user_id: number | null;
  actor: string | null;
  trigger: string;
  automated: boolean;
  details: Record<string, unknown>;
  at: string;
}

export interface CriterionType {
  id: string;
  scopes: string[];
  operators: string[];
  value_type: string;
  value_schema?: Record<string, unknown>;
  description?: string;
  [key: string]: unknown;
}

export interface Me {
  user_id: number | null;
  username: string | null;
  administrator: boolean;
  staff_courses: string[];
  course?: { course_key: string; may_read: boolean; may_write: boolean };
}

export interface MemberResult {
  user_id?: number;
  username?: string;
  email?: string;
  row?: number;
  result: string;
  reason?: string;
}
