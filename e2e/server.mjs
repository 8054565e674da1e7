// The heartline fixture server (contract: e2e/SERVER.md). node:http + ws in noServer mode, so the
// upgrade is ours to refuse with any status or to misbehave on after it is accepted; `/hl/` is
// heartline/server (dist/server.mjs) with faults around it (server/heartline.mjs).
import { createServer, STATUS_CODES } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { Conn } from './server/conn.mjs';
import { blockedUpgrade, bufferingProxy, handleControl } from './server/control.mjs';
import { HL_PATH, protocolOf, wsRefusal } from './server/heartline.mjs';
import { scenarios } from './server/scenarios.mjs';
import { serveStatic } from './server/static.mjs';
import { Registry } from './server/state.mjs';

/**
 * Which offered subprotocol to select. By default a plain route does what a plain `ws` server does:
 * it selects the first one offered, without speaking it (DESIGN.md 9 warns about exactly this).
 * `?protocol=none` selects none — Chromium then fails the handshake when the client offered any,
 * Firefox does not — and `?protocol=NAME` selects NAME when offered. A scenario may decide itself
 * with `protocol(offered, params)` (the heartline protocol handler will).
 */
function chooseProtocol(offered, { params, scenario } = {}) {
  const wanted = params?.get('protocol');
  const first = offered.values().next().value ?? false;
  if (wanted === 'none') return false;
  if (wanted && wanted !== 'first') return offered.has(wanted) ? wanted : false;
  return scenario?.protocol?.(offered, params) ?? first;
}

/** Answer an upgrade request with a plain HTTP response and no upgrade. */
function refuseUpgrade(socket, status, headers = {}) {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function listen(http, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    http.once('error', onError);
    http.listen(port, host, () => {
      http.off('error', onError);
      resolve(http.address().port);
    });
  });
}

/**
 * @param {{ port?: number, host?: string }} [options]
 * @returns {Promise<{ url: string, port: number, stop(): Promise<void>, restart(downMs?: number): Promise<void> }>}
 */
export async function startServer({ port = 0, host = '127.0.0.1' } = {}) {
  const registry = new Registry();
  const sockets = new Set();
  /** upgrade request → its query, for handleProtocols (which only gets the request) */
  const pending = new WeakMap();
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    handleProtocols: (offered, req) => chooseProtocol(offered, pending.get(req)),
  });
  let stopped = false;
  /** while restarting: the pending "down" wait, so stop() can cut it short */
  let down = null;
  let restarting = null;

  const http = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    try {
      if (await handleControl(req, res, url, api)) return;
      bufferingProxy(req, res, url, registry);
      if (HL_PATH.test(url.pathname)) return heartlineHttp(req, res, url);
      if (url.pathname.startsWith('/ws/')) {
        res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' }).end('426 Upgrade Required\n');
        return;
      }
      if (await serveStatic(req, res, url)) return;
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 Not Found\n');
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`500 ${err?.message ?? err}\n`);
    }
  });

  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => {}); // resets from browsers going away are expected here
    socket.once('close', () => sockets.delete(socket));
  });

  /**
   * `/hl/<stream>` over HTTP: heartline/server (e2e/server/heartline.mjs). The `refuse` control
   * action also refuses SSE requests and first polls.
   */
  function heartlineHttp(req, res, url) {
    const params = url.searchParams;
    const state = registry.get(params.get('key') ?? '');
    const kp = protocolOf(state, params);
    const opening = req.method === 'GET' && (params.get('poll') === '1' ? params.get('open') === '1' : true);
    const refusal = opening ? state.takeRefusal() : null;
    if (!refusal) return kp.http(req, res, url);
    req.resume();
    state.refused += 1;
    state.changed();
    res.writeHead(refusal.status, { 'Content-Type': 'text/plain', ...refusal.headers }).end(`${refusal.status}\n`);
  }

  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const name = /^\/ws\/([^/]+)$/.exec(url.pathname)?.[1];
    const hl = HL_PATH.test(url.pathname);
    // `/hl/` without heartline=1: a plain WebSocket echo server.
    const scenario = name ? scenarios[name] : hl ? { ...scenarios.echo, refuse: wsRefusal, protocol: () => false } : undefined;
    if (!scenario) return refuseUpgrade(socket, 404);
    const params = url.searchParams;
    const state = registry.get(params.get('key') ?? '');
    state.upgrades += 1;
    const refusal = state.takeRefusal() ?? blockedUpgrade(state) ?? scenario.refuse?.(params, state);
    if (refusal) {
      state.refused += 1;
      state.changed();
      return refuseUpgrade(socket, refusal.status, refusal.headers);
    }
    if (hl && params.get('heartline') === '1') {
      state.accepted += 1;
      state.changed();
      return protocolOf(state, params).upgrade(req, socket, head, params);
    }
    pending.set(req, { params, scenario });
    wss.handleUpgrade(req, socket, head, (ws) => {
      state.accepted += 1;
      const conn = new Conn(ws, socket, state, params);
      state.conns.add(conn);
      state.changed();
      scenario.open?.(conn, params);
    });
  });

  function dropEverything() {
    for (const socket of sockets) socket.destroy();
    for (const conn of [...registry.allConns()]) conn.forget();
  }

  function closeListener() {
    const closed = new Promise((resolve) => (http.listening ? http.close(() => resolve()) : resolve()));
    dropEverything();
    return closed;
  }

  const boundPort = await listen(http, port, host);

  /** The port is ours but was released; another process may grab it meanwhile, so retry briefly. */
  async function listenAgain() {
    for (let attempt = 0; ; attempt++) {
      try {
        return await listen(http, boundPort, host);
      } catch (err) {
        if (err?.code !== 'EADDRINUSE' || attempt >= 20 || stopped) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
  const url = `http://${host}:${boundPort}/`;

  const api = {
    url,
    port: boundPort,
    registry,
    /** Close the listener and every connection (no close frames), then listen again after `downMs`. */
    restart(downMs = 500, { fresh = false } = {}) {
      restarting ??= (async () => {
        await closeListener();
        // Each key's heartline server restarts on its engines (or on new ones: `fresh`).
        await Promise.all([...registry.keys.values()].map((state) => state.heartline?.restart({ fresh })));
        await new Promise((resolve) => (down = { resolve, timer: setTimeout(resolve, downMs) }));
        down = null;
        if (!stopped) await listenAgain();
      })().finally(() => (restarting = null));
      return restarting;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (down) {
        clearTimeout(down.timer);
        down.resolve();
      }
      await closeListener();
      await Promise.all([...registry.keys.values()].map((state) => state.heartline?.close()));
      wss.close();
    },
  };
  return api;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--port');
  const port = at > 0 ? Number(process.argv[at + 1]) : 0;
  const server = await startServer({ port });
  console.log(`heartline fixture server listening on ${server.url}`);
  console.log(`live demo: open ${server.url}pages/demo.html in a browser (Ctrl-C stops the server)`);
  const shutdown = () => server.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
