// `POST|GET /control/<key>/<action>?...`: per-key fault injection and counters (e2e/SERVER.md).
import { protocolOf } from './heartline.mjs';
import { num } from './scenarios.mjs';

const WAIT_FIELDS = ['upgrades', 'accepted', 'refused', 'open', 'received', 'delivered'];
/** A counter's value; `delivered` is the number of client messages the protocol delivered. */
const counter = (state, f) => (f === 'delivered' ? (state.heartline?.delivered.length ?? 0) : state[f]);
const WAIT_LIMIT_MS = 30000;

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  return new Promise((done) => res.end(text, done));
}

/**
 * Long-poll until every named counter is >= its value (e.g. `wait?received=12&timeout=5000`), so a
 * test waits for the server to see something instead of sleeping. 408 with the stats on timeout.
 */
function wait(state, params, res) {
  const goals = WAIT_FIELDS.filter((f) => params.has(f)).map((f) => [f, num(params, f, 0)]);
  const met = () => goals.every(([field, min]) => counter(state, field) >= min);
  if (met()) return state.stats().then((stats) => reply(res, 200, stats));
  return new Promise((done) => {
    const finish = (status) => {
      clearTimeout(timer);
      state.waiters.delete(check);
      res.off('close', abandon);
      done(state.stats().then((stats) => reply(res, status, { ...stats, timedOut: status !== 200 })));
    };
    const check = () => met() && finish(200);
    const abandon = () => {
      clearTimeout(timer);
      state.waiters.delete(check);
      done();
    };
    const timer = setTimeout(() => finish(408), Math.min(num(params, 'timeout', 5000), WAIT_LIMIT_MS));
    state.waiters.add(check);
    res.on('close', abandon);
  });
}

const ACTIONS = {
  stats: (state) => state.stats(),
  drop(state, params) {
    const code = num(params, 'code', 1012);
    const reason = params.get('reason') ?? '';
    for (const conn of state.conns) conn.close(code, reason);
  },
  destroy(state) {
    for (const conn of state.conns) conn.destroy();
  },
  blackhole(state) {
    for (const conn of state.conns) conn.blackhole();
  },
  refuse(state, params) {
    const status = num(params, 'status', 403);
    const headers = params.has('retryAfter') ? { 'Retry-After': params.get('retryAfter') } : {};
    state.refusal = { status, headers, remaining: num(params, 'count', Infinity) };
  },
  accept(state) {
    state.refusal = null;
  },
  /** A network that refuses WebSocket upgrades (403) for this key, `on=0` lifts it: see blockedUpgrade. */
  'block-ws'(state, params) {
    state.blockWebSocket = params.get('on') !== '0';
    return { ok: true, blockWebSocket: state.blockWebSocket };
  },
  /** A proxy that buffers this key's SSE responses, `on=0` lifts it: see bufferingProxy. */
  buffering(state, params) {
    state.bufferingProxy = params.get('on') !== '0';
    return { ok: true, bufferingProxy: state.bufferingProxy };
  },
  resume(state) {
    for (const conn of state.conns) conn.resumeReading();
  },
  send(state, params) {
    const data = params.get('data') ?? '';
    for (const conn of state.conns) conn.send(data);
  },
  /** heartline protocol: publish to every session of the key (heartline/server's `publish`). */
  async publish(state, params) {
    const event = params.get('event') || undefined;
    const id = await protocolOf(state, params).server.publish('default', params.get('data') ?? '', event ? { event } : {});
    return { ok: true, id };
  },
  /** heartline protocol: forget every session of the key; their connections get close 4409. */
  async forget(state, params) {
    await protocolOf(state, params).forget();
  },
};

/**
 * @param {{ registry: import('./state.mjs').Registry, restart: (downMs: number, o: { fresh: boolean }) => Promise<void> }} server
 * @returns {Promise<boolean>} false when the path is not a control route
 */
export async function handleControl(req, res, url, server) {
  const match = /^\/control\/([^/]+)\/([a-z-]+)$/.exec(url.pathname);
  if (!match) return false;
  if (req.method !== 'GET' && req.method !== 'POST') {
    await reply(res, 405, { error: 'use GET or POST' });
    return true;
  }
  req.resume(); // a POST body, if any, is ignored
  const key = decodeURIComponent(match[1]);
  const action = match[2];
  const params = url.searchParams;
  const state = server.registry.get(key);
  if (action === 'wait') {
    await wait(state, params, res);
  } else if (action === 'restart') {
    const down = num(params, 'down', 500);
    res.setHeader('Connection', 'close');
    await reply(res, 200, { ok: true, down });
    const fresh = params.get('fresh') === '1';
    server.restart(down, { fresh }).catch((err) => console.error('fixture server restart failed:', err));
  } else if (ACTIONS[action]) {
    const result = await ACTIONS[action](state, params);
    await reply(res, 200, result ?? { ok: true });
  } else {
    await reply(res, 404, { error: `unknown control action ${action}` });
  }
  return true;
}

/** The refusal of every WebSocket upgrade while the `block-ws` action is on for the key (a firewall). */
export const blockedUpgrade = (state) => (state.blockWebSocket ? { status: 403, headers: {} } : null);

const PROXY_BUFFER = 64 * 1024;

/**
 * While the `buffering` action is on for the key, an SSE response on `/hl/` is held back as a
 * buffering proxy holds it (nginx with `proxy_buffering on`): nothing is sent, headers included,
 * until 64 KiB have been written or the response ends. Long-polls and POSTs pass, so a client can
 * fall back to long-polling. Call before the route's handler writes anything.
 */
export function bufferingProxy(req, res, url, registry) {
  if (req.method !== 'GET' || !/^\/hl\/[^/]+$/.test(url.pathname) || url.searchParams.has('poll')) return;
  if (!/text\/event-stream/.test(req.headers.accept ?? '')) return;
  if (!registry.get(url.searchParams.get('key') ?? '').bufferingProxy) return;
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  let held = [];
  let size = 0;
  const release = () => {
    if (size) write(Buffer.concat(held));
    held = [];
    size = 0;
  };
  res.flushHeaders = () => {}; // the proxy holds the headers too
  res.write = (chunk, encoding, done) => {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8');
    held.push(bytes);
    size += bytes.length;
    if (size >= PROXY_BUFFER) release();
    (typeof encoding === 'function' ? encoding : done)?.();
    return true;
  };
  res.end = (chunk, encoding, done) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') res.write(chunk, typeof encoding === 'string' ? encoding : undefined);
    release();
    return end([chunk, encoding, done].find((f) => typeof f === 'function'));
  };
}
