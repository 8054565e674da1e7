// A "victim" server for the reconnect, black-hole and idle scenarios: one per client, so each
// client has its own port (and its own HTTP connection pool in the browser: six SSE streams to one
// port would hit Chromium's per-host connection limit). It can close its connections cleanly,
// restart (listener and every connection gone, no close frames, back on the same port after a
// pause), black-hole (stop reading and writing, keep the TCP connection open, no FIN), and count
// the bytes on the wire (TCP payload, both directions).
import { performance } from 'node:perf_hooks';
import { createServer } from 'node:http';
import { Server as SocketIOServer } from 'socket.io';
import { WebSocketServer } from 'ws';

const CORS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*', 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS' };

/**
 * @param {{ kind: 'ws'|'sio'|'sse', pingInterval?: number, pingTimeout?: number, retry?: number, keepalive?: number }} o
 *   kind: the protocol served at / (ws: plain WebSocket that answers 'ping' with 'pong';
 *   sio: socket.io with the given engine ping settings; sse: an event stream at /sse, with a
 *   `retry:` field when o.retry is set and a `: ka` comment every o.keepalive ms when set).
 */
export async function startVictim(o) {
  const tcp = new Set();
  let closedBytes = 0;
  let port = 0;
  const connects = []; // performance.now() of every accepted connection (ws open, socket.io connect, SSE response)
  const onConnect = new Set();
  const live = new Set(); // close handles of the accepted connections
  let black = false;

  const accepted = (close, tick) => {
    const entry = { close, tick };
    live.add(entry);
    const t = performance.now();
    connects.push(t);
    for (const f of onConnect) f(t);
    return () => live.delete(entry);
  };

  const http = createServer((req, res) => {
    if (req.method === 'OPTIONS') return res.writeHead(204, CORS).end();
    if (o.kind === 'sse' && req.url.startsWith('/sse')) {
      res.writeHead(200, { ...CORS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.write(`${o.retry ? `retry: ${o.retry}\n` : ''}: hello\n\n`);
      // Keep-alive comments, as SSE servers send them (proxies drop silent streams; heartline's
      // SSE liveness watches for them, DESIGN §4).
      const ka = o.keepalive ? setInterval(() => res.write(': ka\n\n'), o.keepalive) : undefined;
      const forget = accepted(
        () => res.end(),
        () => res.write('data: tick\n\n'),
      );
      res.once('close', () => (clearInterval(ka), forget()));
      return;
    }
    if (o.kind !== 'sio') res.writeHead(404, CORS).end();
  });
  http.on('connection', (s) => {
    tcp.add(s);
    s.on('error', () => {});
    s.once('close', () => {
      closedBytes += s.bytesRead + s.bytesWritten;
      tcp.delete(s);
    });
  });

  let wss;
  let io;
  if (o.kind === 'ws') {
    wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', (d, binary) => !binary && String(d) === 'ping' && ws.send('pong'));
      const forget = accepted(
        () => ws.close(1000, 'bye'),
        () => ws.send('tick'),
      );
      ws.once('close', forget);
    });
  } else if (o.kind === 'sio') {
    io = new SocketIOServer(http, {
      serveClient: false,
      cors: { origin: '*' },
      ...(o.pingInterval ? { pingInterval: o.pingInterval, pingTimeout: o.pingTimeout } : {}),
    });
    io.on('connection', (socket) => {
      // A clean close at the engine level ("transport close"): socket.io-client reconnects after
      // it. (socket.disconnect() would be "io server disconnect", which it does not retry.)
      const forget = accepted(
        () => socket.conn.close(),
        () => socket.emit('tick'),
      );
      socket.once('disconnect', forget);
    });
  }

  const listen = () => new Promise((resolve, reject) => (http.once('error', reject), http.listen(port, '127.0.0.1', () => (http.off('error', reject), resolve()))));
  await listen();
  port = http.address().port;

  const destroyAll = () => {
    for (const s of tcp) s.destroy();
  };

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    connects,
    /** Resolves with the time (performance.now()) of the next accepted connection after `since`. */
    nextConnect(since, ms) {
      const hit = connects.find((t) => t > since);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => {
        const f = (t) => (onConnect.delete(f), clearTimeout(timer), resolve(t));
        const timer = setTimeout(() => (onConnect.delete(f), resolve(null)), ms);
        onConnect.add(f);
      });
    },
    get open() {
      return live.size;
    },
    /** Closes every connection the clean way of its protocol (WebSocket 1000, engine close, end of the SSE response). */
    closeClean() {
      const t = performance.now();
      for (const e of [...live]) e.close();
      return t;
    },
    /** Closes the listener and destroys every connection (no close frames), listens again after downMs. */
    async restart(downMs) {
      const killed = performance.now();
      const closed = new Promise((resolve) => http.close(resolve));
      destroyAll();
      live.clear();
      await closed;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await listen();
      return { killed, up: performance.now() };
    },
    /**
     * Sends one last message (so every client saw traffic just now), then stops reading and
     * writing on every connection and neuters end/destroy, so not even a FIN leaves: the TCP
     * connections stay open, silent, until stop(). Returns the time, wall clock (Date.now()).
     */
    blackhole() {
      for (const e of live) e.tick();
      black = true;
      for (const s of tcp) {
        s.pause();
        s.__orig = { write: s.write, end: s.end, destroy: s.destroy, destroySoon: s.destroySoon };
        s.write = (...args) => (args.find((a) => typeof a === 'function') ? true : true);
        s.end = () => s;
        s.destroy = () => s;
        s.destroySoon = () => {};
      }
      // New connections (a client that noticed and reconnects) are served normally on fresh sockets.
      return Date.now();
    },
    /** TCP payload bytes read + written so far, over every connection this server ever had. */
    bytes() {
      let b = closedBytes;
      for (const s of tcp) b += s.bytesRead + s.bytesWritten;
      return b;
    },
    async stop() {
      for (const s of tcp) if (s.__orig) Object.assign(s, s.__orig);
      io?.close();
      wss?.close();
      destroyAll();
      await new Promise((resolve) => (http.listening ? http.close(resolve) : resolve()));
      void black;
    },
  };
}
