// Static files: `/dist/*` (the built package) and `/pages/*` (harness, scenarios, demo).
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const E2E_DIR = fileURLToPath(new URL('..', import.meta.url));
const ROOTS = {
  '/dist/': join(E2E_DIR, '..', 'dist'),
  '/pages/': join(E2E_DIR, 'pages'),
};

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

export const STRICT_CSP =
  "default-src 'self'; script-src 'self'; connect-src 'self' ws://127.0.0.1:*; " +
  "require-trusted-types-for 'script'";

/** Resolve a URL path under one of the roots, refusing anything that escapes it. */
function resolve(pathname) {
  for (const [prefix, root] of Object.entries(ROOTS)) {
    if (!pathname.startsWith(prefix)) continue;
    let rel;
    try {
      rel = decodeURIComponent(pathname.slice(prefix.length));
    } catch {
      return null;
    }
    const file = normalize(join(root, rel));
    return file.startsWith(root + sep) ? file : null;
  }
  return null;
}

/** @returns {Promise<boolean>} false when the path is not a static route (caller answers 404). */
export async function serveStatic(req, res, url) {
  if (url.pathname === '/') {
    res.writeHead(302, { Location: '/pages/demo.html' }).end();
    return true;
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204, { 'Cache-Control': 'max-age=3600' }).end(); // keeps 404s out of browser consoles
    return true;
  }
  const file = resolve(url.pathname);
  if (!file) return false;
  try {
    if (!(await stat(file)).isFile()) return false;
    const body = await readFile(file);
    const ext = extname(file);
    const headers = {
      'Content-Type': TYPES[ext] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
    };
    if (ext === '.html' && url.pathname.startsWith('/pages/') && url.searchParams.get('csp') === '1') {
      headers['Content-Security-Policy'] = STRICT_CSP;
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    return false;
  }
  return true;
}
