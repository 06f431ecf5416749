#!/usr/bin/env node
// Dependency-free static server for the annals demo (and the e2e test pages).
//
//   node demo/serve.mjs [port]          # or PORT=9000 node demo/serve.mjs
//
// As a module:  const { url, close } = await start(0, { mounts: { '/e2e/': dir } });
//
// Binds 127.0.0.1 only, serves GET/HEAD, refuses paths that leave the served directory
// and hidden (dot) path segments.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEMO_DIR = path.dirname(fileURLToPath(import.meta.url));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

// Map a URL path to a file inside `root`, or null when it would escape it.
export function resolveInside(root, urlPath) {
  if (urlPath.includes('\0')) return null;
  const segments = urlPath.split(/[\\/]+/).filter(Boolean);
  if (segments.some((s) => s === '..' || s.startsWith('.'))) return null;
  const file = path.resolve(root, ...segments);
  const rootWithSep = root.endsWith(path.sep) ? root : root + path.sep;
  if (file !== root && !file.startsWith(rootWithSep)) return null;
  return file;
}

/**
 * Start the server. `port` 0 picks a free port.
 * `mounts` maps URL prefixes ('/e2e/') to extra directories; everything else is DEMO_DIR.
 * `config` (`{ url, token }` of an annals server) is served as /config.json: the demo syncs
 * with that server; without it /config.json is `{}` and the demo stays in the browser.
 * Resolves to { url, port, close() }.
 */
export function start(port = 8080, { host = '127.0.0.1', root = DEMO_DIR, mounts = {}, log = false, config } = {}) {
  const roots = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : prefix + '/', path.resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  roots.push(['/', path.resolve(root)]);

  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
    }
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return send(res, 400, 'Bad Request\n');
    }
    if (pathname === '/config.json') {
      return send(res, 200, JSON.stringify(config ?? {}), { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    }
    const [prefix, dir] = roots.find(([p]) => pathname.startsWith(p) || pathname + '/' === p);
    let file = resolveInside(dir, pathname.slice(prefix.length));
    if (!file) return send(res, 403, 'Forbidden\n');

    fs.stat(file, (err, st) => {
      if (!err && st.isDirectory()) {
        if (!pathname.endsWith('/')) {
          return send(res, 301, 'Moved\n', { Location: pathname + '/' });
        }
        file = path.join(file, 'index.html');
        return fs.stat(file, (err2, st2) => serveFile(err2, st2));
      }
      serveFile(err, st);
    });

    function serveFile(err, st) {
      if (err || !st.isFile()) {
        if (log) console.log(`404 ${pathname}`);
        return send(res, 404, 'Not Found\n');
      }
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': st.size,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      });
      if (req.method === 'HEAD') return res.end();
      const stream = fs.createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const actual = server.address().port;
      const url = `http://${host}:${actual}/`;
      resolve({
        url,
        port: actual,
        server,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const raw = process.env.PORT ?? process.argv[2] ?? '8080';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve.mjs: invalid port ${JSON.stringify(raw)}`);
    process.exit(2); // a usage error: the demo command fails instead of serving on a wrong port
  }
  if (!fs.existsSync(path.join(DEMO_DIR, 'node_modules/annals/dist/browser.js'))) {
    console.warn('serve.mjs: demo/node_modules/annals is missing: run `bash demo/install.sh` first.');
  }
  const { SYNC_URL, SYNC_TOKEN } = process.env;
  const config = SYNC_URL && SYNC_TOKEN ? { url: SYNC_URL, token: SYNC_TOKEN } : undefined;
  const { url, close } = await start(port, { log: true, config });
  console.log(`annals shopping-list demo: ${url}  (Ctrl-C to stop)${config ? `, syncing with ${config.url}` : ''}`);
  // Ctrl-C or SIGTERM: close the server, then end the process with success.
  const stop = () => close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
