import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** serve.mjs, the page's server for `npm start` and the browser tests: what it must never do. */
describe('serve.mjs', () => {
  let upstream: Server;
  const seen: string[] = [];
  let child: ChildProcess;
  let port: number;

  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'serve-'));
    mkdirSync(join(root, 'dist'));
    mkdirSync(join(root, 'dist-old'));
    writeFileSync(join(root, 'dist', 'index.html'), 'THE PAGE');
    writeFileSync(join(root, 'dist-old', 'secret.txt'), 'SECRET');
    upstream = createServer((req, res) => {
      seen.push(req.url!);
      res.end('UPSTREAM');
    }).listen(0, '127.0.0.1');
    await new Promise((r) => upstream.once('listening', r));
    const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    port = 20_000 + Math.floor(Math.random() * 20_000);
    child = spawn(process.execPath, [join(__dirname, '..', 'serve.mjs')], {
      env: {
        ...process.env,
        MFE_PORT: String(port),
        MFE_DIST: join(root, 'dist'),
        GROUPS_SERVICE_URL: target,
        LEGACY_SYNC_URL: target,
        LMS_URL: target,
      },
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if ((await get('/user-groups/').catch(() => null))?.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => {
    child.kill();
    upstream.close();
  });

  it('serves the page for its routes and proxies the APIs on its origin', async () => {
    expect(await get('/user-groups/courses/x')).toEqual({ status: 200, body: 'THE PAGE' });
    expect(await get('/api/user-groups/v1/groups?x=1')).toEqual({ status: 200, body: 'UPSTREAM' });
    expect(seen.at(-1)).toBe('/api/user-groups/v1/groups?x=1');
  });

  it('proxies only a path: a request line naming another host goes nowhere else', async () => {
    expect((await get('http://evil.example/api/user-groups/v1/groups')).status).toBe(400);
    expect((await get('//evil.example/api/user-groups/v1/groups')).status).toBe(400);
  });

  it('serves no file outside the build, and survives a malformed escape', async () => {
    expect((await get('/user-groups/..%2fdist-old%2fsecret.txt')).body).not.toContain('SECRET');
    expect((await get('/user-groups/../dist-old/secret.txt')).body).not.toContain('SECRET');
    expect((await get('/user-groups/%E0%A4%A')).status).toBe(400);
    expect((await get('/user-groups/')).status).toBe(200);
  });
});
