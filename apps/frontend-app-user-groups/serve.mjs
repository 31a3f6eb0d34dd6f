#!/usr/bin/env node
// Serves the built User Groups page (dist/apps/frontend-app-user-groups) as a site would: the page
// under PUBLIC_PATH (/user-groups/), and, on the same origin, the paths Caddy routes on the LMS's
// host: the two APIs to their services, and the LMS's sign-in (/login, /login_refresh, /logout),
// where the JWT cookies are set. For `npm start` and the browser tests; a site uses Tutor's MFE plugin.
//   MFE_PORT (2010), GROUPS_SERVICE_URL, LEGACY_SYNC_URL, LMS_URL, HOST (127.0.0.1)
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.MFE_DIST ?? join(here, '../../dist/apps/frontend-app-user-groups');
const port = Number(process.env.MFE_PORT ?? 2010);
const host = process.env.HOST ?? '127.0.0.1';
const base = '/user-groups/';
const routes = [
  ['/api/user-groups/', process.env.GROUPS_SERVICE_URL ?? 'http://127.0.0.1:3001'],
  ['/csrf/', process.env.GROUPS_SERVICE_URL ?? 'http://127.0.0.1:3001'],
  ['/api/legacy-sync/', process.env.LEGACY_SYNC_URL ?? 'http://127.0.0.1:3002'],
  ['/login', process.env.LMS_URL ?? 'http://127.0.0.1:18000'],
  ['/logout', process.env.LMS_URL ?? 'http://127.0.0.1:18000'],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function proxy(req, res, target, pathAndQuery) {
  // Only the path and query go upstream: a request line naming another host cannot redirect the proxy.
  const url = new URL(pathAndQuery, target);
  const upstream = request(
    url,
    { method: req.method, headers: { ...req.headers, host: url.host, 'x-forwarded-host': req.headers.host ?? '' } },
    (answer) => {
      // A redirect the LMS answers with its own origin comes back to this one (as behind Caddy).
      const location = answer.headers.location;
      if (location?.startsWith(target)) answer.headers.location = location.slice(target.length) || '/';
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'UPSTREAM_UNAVAILABLE', message: `${target} did not answer: ${error.message}` }));
  });
  req.pipe(upstream);
}

function serveFile(res, file) {
  const immutable = file.includes(`${join(dist, 'assets')}`);
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  createReadStream(file).pipe(res);
}

function badRequest(res) {
  res.writeHead(400, { 'content-type': 'text/plain' });
  res.end('bad request');
}

const server = createServer((req, res) => {
  if (!req.url?.startsWith('/') || req.url.startsWith('//')) return badRequest(res);
  let path;
  let search;
  try {
    ({ pathname: path, search } = new URL(req.url, 'http://local'));
  } catch {
    return badRequest(res);
  }
  const route = routes.find(([prefix]) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix));
  if (route) return proxy(req, res, route[1], path + search);
  if (path === '/' || path === base.slice(0, -1)) {
    res.writeHead(302, { location: base });
    return res.end();
  }
  if (!path.startsWith(base)) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found');
  }
  let file;
  try {
    file = normalize(join(dist, decodeURIComponent(path.slice(base.length))));
  } catch {
    return badRequest(res);
  }
  if (file.startsWith(dist + sep) && existsSync(file) && statSync(file).isFile()) return serveFile(res, file);
  // The page's own routes (/user-groups/courses/…): index.html, as Caddy's try_files does.
  return serveFile(res, join(dist, 'index.html'));
});

if (!existsSync(join(dist, 'index.html'))) {
  console.error(
    `${dist}/index.html is missing: build the page first (npx vite build --config apps/frontend-app-user-groups/vite.config.mts)`,
  );
  process.exit(1);
}
server.listen(port, host, () => console.log(`User Groups page on http://${host}:${port}${base}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
