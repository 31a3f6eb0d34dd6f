/** Where the product's APIs are and how to authenticate to them (environment, with the local stack's defaults). */
export interface Endpoints {
  legacySync: string;
  groups: string;
  /** groups-service's operations port (OPS_PORT), where its /metrics is. */
  groupsOps: string;
  lms: string;
  clientId: string;
  clientSecret: string;
  token?: string;
}

/** The local stack's client secret; with NODE_ENV=production there is no default (as for the services). */
function clientSecret(env: NodeJS.ProcessEnv): string {
  const given = env.UGSYNC_CLIENT_SECRET ?? env.LMS_OAUTH_CLIENT_SECRET;
  if (given) return given;
  if (env.NODE_ENV === 'production' && !env.UGSYNC_TOKEN)
    throw new Error('UGSYNC_CLIENT_SECRET (or UGSYNC_TOKEN) is required with NODE_ENV=production');
  return 'groups-sync-secret';
}

export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoints {
  return {
    legacySync: env.UGSYNC_LEGACY_SYNC_URL ?? `http://127.0.0.1:${env.LEGACY_SYNC_SERVICE_PORT ?? 3002}`,
    groups: env.UGSYNC_GROUPS_URL ?? `http://127.0.0.1:${env.GROUPS_SERVICE_PORT ?? 3001}`,
    groupsOps: env.UGSYNC_GROUPS_OPS_URL ?? `http://127.0.0.1:${env.GROUPS_SERVICE_OPS_PORT ?? 9301}`,
    lms: env.UGSYNC_LMS_URL ?? env.LMS_BASE_URL ?? `http://127.0.0.1:${env.LMS_EMULATOR_PORT ?? 18000}`,
    clientId: env.UGSYNC_CLIENT_ID ?? env.LMS_OAUTH_CLIENT_ID ?? 'groups-sync',
    clientSecret: clientSecret(env),
    token: env.UGSYNC_TOKEN,
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A client of the product's APIs like any other: an LMS-issued JWT, from UGSYNC_TOKEN (`--token`)
 * or the OAuth2 client_credentials grant (UGSYNC_CLIENT_ID / UGSYNC_CLIENT_SECRET). What the
 * services record names that caller.
 */
export class ApiClient {
  private token?: string;

  constructor(readonly endpoints: Endpoints) {
    this.token = endpoints.token;
  }

  async call<T = any>(method: string, url: string, body?: unknown): Promise<T> {
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `JWT ${await this.accessToken()}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    }).catch((error: Error) => {
      throw new ApiError(0, `${method} ${url}: ${error.message} (is the service running? npm start)`);
    });
    const text = await res.text();
    const json = text ? safeJson(text) : null;
    if (!res.ok)
      throw new ApiError(
        res.status,
        `${method} ${new URL(url).pathname}: ${res.status} ${json?.message ?? json?.detail ?? text.slice(0, 300)}`,
      );
    return json as T;
  }

  /** Metrics are public: the outbox backlog of a service that has no status API. */
  async metrics(baseUrl: string): Promise<string> {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new ApiError(res.status, `GET ${baseUrl}/metrics: ${res.status}`);
    return res.text();
  }

  private async accessToken(): Promise<string> {
    if (this.token) return this.token;
    const res = await fetch(`${this.endpoints.lms}/oauth2/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.endpoints.clientId,
        client_secret: this.endpoints.clientSecret,
        token_type: 'jwt',
      }),
      signal: AbortSignal.timeout(10_000),
    }).catch((error: Error) => {
      throw new ApiError(0, `LMS token endpoint ${this.endpoints.lms}: ${error.message}`);
    });
    if (!res.ok)
      throw new ApiError(
        res.status,
        `the LMS refused our OAuth2 client (${res.status}): check UGSYNC_CLIENT_ID / UGSYNC_CLIENT_SECRET, or pass --token`,
      );
    this.token = ((await res.json()) as { access_token: string }).access_token;
    return this.token;
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
