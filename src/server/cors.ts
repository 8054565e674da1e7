/**
 * The Origin allowlist: checked on WebSocket upgrades (cross-site WebSocket hijacking) and turned
 * into CORS headers for the HTTP transports.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerOptions } from './options.js';

/** Whether a request may proceed: no Origin header (not a page), the same origin, or allowed. */
export function originAllowed(req: IncomingMessage, allow: ServerOptions['origins']): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allow === '*') return true;
  if (typeof allow === 'function') {
    try {
      return allow(origin) === true;
    } catch {
      return false;
    }
  }
  if (Array.isArray(allow) && allow.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * Sets the CORS headers for an allowed cross-origin request. A preflight (`OPTIONS`) also gets the
 * methods and the request headers it asked for (each a header-name token).
 */
export function corsHeaders(req: IncomingMessage, res: ServerResponse, credentials: boolean): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', 'Heartline, Retry-After');
  if (credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
  if (req.method !== 'OPTIONS') return;
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  const asked = String(req.headers['access-control-request-headers'] ?? '').slice(0, 1024);
  const names = asked.split(',').map((h) => h.trim()).filter((h) => TOKEN.test(h));
  if (names.length) res.setHeader('Access-Control-Allow-Headers', names.join(', '));
  res.setHeader('Access-Control-Max-Age', '600');
}
