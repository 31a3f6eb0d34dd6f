import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { LmsApiClient, retryAfterMs } from './lms-api.client';
import { LmsDeadlineError, LmsUnavailableError } from './lms-api.error';
import { LmsClientConfig } from './lms-client.config';

describe('LmsApiClient and the LMS rate limit', () => {
  let server: Server;
  let answers: Array<{ status: number; headers?: Record<string, string>; body?: string; stallBody?: boolean }>;
  const calls: number[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/oauth2/access_token') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
        return;
      }
      calls.push(Date.now());
      const next = answers.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      if (next.stallBody) {
        res.write('{"ok":'); // headers and part of the body, then nothing until the client gives up
        res.on('close', () => res.destroy());
        return;
      }
      res.end(next.body ?? JSON.stringify({ ok: next.status === 200 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => (calls.length = 0));

  function client(timeoutMs?: number) {
    return new LmsApiClient(
      Object.assign(new LmsClientConfig(), {
        LMS_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        ...(timeoutMs ? { LMS_TIMEOUT_MS: timeoutMs } : {}),
      }),
    );
  }

  it('waits out a 429 for as long as Retry-After says, within the same call', async () => {
    answers = [{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }];
    await expect(client().call('GET', '/api/x')).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(2);
    expect(calls[1] - calls[0]).toBeGreaterThanOrEqual(950);
  });

  it('treats a 429 without Retry-After as the LMS being unavailable (waited for, never spending a budget)', async () => {
    answers = [{ status: 429 }];
    const error = (await client()
      .call('GET', '/api/x')
      .catch((e: unknown) => e)) as LmsUnavailableError;
    expect(error).toBeInstanceOf(LmsUnavailableError);
    expect(error.dependencyUnavailable).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('treats a body that stops arriving before the timeout as the LMS being unavailable', async () => {
    answers = [{ status: 200, stallBody: true }];
    const error = (await client(300)
      .call('GET', '/api/x')
      .catch((e: unknown) => e)) as LmsUnavailableError;
    expect(error).toBeInstanceOf(LmsUnavailableError);
    expect(error.dependencyUnavailable).toBe(true);
  });

  it("treats a 2xx that is not JSON (a proxy's maintenance page) as the LMS being unavailable", async () => {
    answers = [{ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>Down for maintenance</html>' }];
    const error = (await client()
      .call('GET', '/api/x')
      .catch((e: unknown) => e)) as LmsUnavailableError;
    expect(error).toBeInstanceOf(LmsUnavailableError);
    expect(error.dependencyUnavailable).toBe(true);
    expect(error.message).toMatch(/LMS GET \/api\/x: 200 answer is not JSON/);
  });

  it("never waits a Retry-After past the caller's deadline: it fails at once with LmsDeadlineError", async () => {
    answers = [{ status: 429, headers: { 'retry-after': '60' } }, { status: 200 }];
    const started = Date.now();
    await expect(client().call('GET', '/api/x', undefined, { deadline: Date.now() + 2000 })).rejects.toBeInstanceOf(
      LmsDeadlineError,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(calls).toHaveLength(1);
    answers = [];
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});
