// Shared by the benchmarks: latency summaries and an access token from the LMS (emulator).

export const LMS = process.env.LMS_URL ?? 'http://127.0.0.1:18000';
export const API = process.env.GROUPS_URL ?? 'http://127.0.0.1:3001/api/user-groups/v1';

export function percentiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(1);
  return `n=${s.length}  p50=${p(0.5)} ms  p95=${p(0.95)} ms  p99=${p(0.99)} ms  max=${s[s.length - 1].toFixed(1)} ms`;
}

/** A JWT for the OAuth2 client the local stack configures, allowed to manage User Groups. */
export async function accessToken(): Promise<string> {
  const res = await fetch(`${LMS}/oauth2/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'groups-sync',
      client_secret: 'groups-sync-secret',
      token_type: 'jwt',
    }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Authorization headers for the OAuth client of an LMS (emulator), allowed to manage groups and run operations (`user_groups:write`). */
export async function operator(lmsUrl: string): Promise<Record<string, string>> {
  const res = await fetch(`${lmsUrl}/oauth2/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'groups-sync',
      client_secret: 'groups-sync-secret',
      token_type: 'jwt',
    }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return { authorization: `JWT ${((await res.json()) as { access_token: string }).access_token}` };
}

/** Runs a benchmark's main and exits with its outcome (its child processes are stopped by it). */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
