// The bench server for the throughput scenarios: serves the pages and the bundles, collects the
// results the pages POST, and streams numbered JSON messages over WebSocket (ws), socket.io and
// SSE, or counts and checks what a page sends. 127.0.0.1, port 0. Written for the bench only
// (e2e/server.mjs is the heartline fixture server; the bench needs socket.io, SSE and pumps with
// backpressure, so it has its own).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { Server as SocketIOServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import { uploadRoutes } from './upload-server.mjs';

const TYPES = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.json': 'application/json' };
/** Each pump writes about this much, then waits until the kernel has taken it (backpressure). */
const BATCH = 256 * 1024;

const pads = new Map();
const pad = (n) => pads.get(n) ?? (pads.set(n, 'x'.repeat(Math.max(0, n))), pads.get(n));
/** Message `seq` as the JSON text the contestants receive: `{"seq":N,"pad":"xx…"}`, `size` bytes in all. */
export const messageText = (seq, size) => `{"seq":${seq},"pad":"${pad(size - 17 - String(seq).length)}"}`;
export const messageObject = (seq, size) => ({ seq, pad: pad(size - 17 - String(seq).length) });

/** Waits (1 ms polls, no busy loop) until `busy()` is false. */
const whenIdle = (busy, then) => (busy() ? setTimeout(() => whenIdle(busy, then), 1) : then());

/**
 * @param {{ pagesDir: string, libDir: string }} dirs
 * @returns {Promise<{ port: number, origin: string, waitResult(id: string, ms: number): Promise<any>, stop(): Promise<void> }>}
 */
export async function startBenchServer({ pagesDir, libDir }) {
  const waiters = new Map(); // result id -> { resolve, timer }
  const early = new Map(); // results that arrived before anyone waited
  const goes = new Map(); // SSE stream id -> start function
  const sockets = new Set();
  const uploads = uploadRoutes(); // the upload phase's endpoints (lib/upload-server.mjs)

  const deliver = (id, value) => {
    const w = waiters.get(id);
    if (w) {
      waiters.delete(id);
      clearTimeout(w.timer);
      w.resolve(value);
    } else early.set(id, value);
  };

  const http = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://bench');
    const p = url.pathname;
    try {
      if (req.method === 'POST' && p.startsWith('/result/')) {
        let body = '';
        for await (const chunk of req) body += chunk;
        deliver(decodeURIComponent(p.slice(8)), JSON.parse(body));
        return res.writeHead(204).end();
      }
      if (req.method === 'POST' && p.startsWith('/go/')) {
        const start = goes.get(decodeURIComponent(p.slice(4)));
        res.writeHead(start ? 204 : 404).end();
        start?.();
        return;
      }
      if (p === '/sse/recv') return sseRecv(req, res, url.searchParams);
      if (p.startsWith('/up/') && uploads.http(req, res, url)) return;
      const [dir, rel] = p.startsWith('/pages/') ? [pagesDir, p.slice(7)] : p.startsWith('/lib/') ? [libDir, p.slice(5)] : [];
      if (dir && !normalize(rel).startsWith('..')) {
        const body = await readFile(join(dir, normalize(rel)));
        return res.writeHead(200, { 'Content-Type': TYPES[extname(rel)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' }).end(body);
      }
      res.writeHead(404).end();
    } catch (e) {
      if (!res.headersSent) res.writeHead(e.code === 'ENOENT' ? 404 : 500);
      res.end(String(e?.message ?? e));
    }
  });
  http.keepAliveTimeout = 60000;
  http.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });

  // SSE: holds the stream until the page POSTs /go/<id>, then writes `n` events of `size` bytes of
  // data, in batches, each after the kernel took the previous one. The stream then stays open
  // (no end, so no client reconnects) until the client goes away.
  function sseRecv(req, res, q) {
    const n = +q.get('n');
    const size = +q.get('size');
    const id = q.get('id');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': hello\n\n');
    let i = 0;
    let gone = false;
    res.once('close', () => ((gone = true), goes.delete(id)));
    const step = () => {
      if (gone) return;
      let batch = '';
      while (i < n && batch.length < BATCH) batch += `data: ${messageText(i++, size)}\n\n`;
      res.write(batch, () => i < n && whenIdle(() => res.writableLength > BATCH, step));
    };
    goes.set(id, () => (goes.delete(id), step()));
  }

  // WebSocket (ws): /ws/recv?n&size — after the page sends "go", n numbered messages;
  // /ws/send?n — counts and checks the page's numbered messages, then sends {"done":…}.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const io = new SocketIOServer(http, { serveClient: false, perMessageDeflate: false, cors: { origin: '*' }, maxHttpBufferSize: 1e8 });

  http.on('upgrade', (req, socket, head) => {
    if (req.url.startsWith('/socket.io/')) return; // socket.io's own upgrade listener takes it
    const url = new URL(req.url, 'http://bench');
    if (uploads.upgrade(req, socket, head, url)) return;
    if (url.pathname !== '/ws/recv' && url.pathname !== '/ws/send') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const q = url.searchParams;
      const n = +q.get('n');
      if (url.pathname === '/ws/recv') {
        const size = +q.get('size');
        const raw = ws._socket;
        ws.once('message', () => {
          let i = 0;
          const step = () => {
            if (ws.readyState !== 1) return;
            let bytes = 0;
            while (i < n && bytes < BATCH) {
              const m = messageText(i++, size);
              bytes += m.length;
              ws.send(m);
            }
            if (i < n) whenIdle(() => raw.writableLength > BATCH, step);
          };
          step();
        });
      } else {
        const check = checker(n, (stats) => ws.send(JSON.stringify({ done: stats })));
        ws.on('message', (d) => check(JSON.parse(d)));
      }
    });
  });

  // socket.io: the same two scenarios as events ('go', 'm', 'done') on the default namespace.
  io.on('connection', (socket) => {
    const q = socket.handshake.query;
    const n = +q.n;
    if (q.mode === 'recv') {
      const size = +q.size;
      socket.once('go', () => {
        let i = 0;
        const raw = () => socket.conn.transport.socket?._socket;
        const busy = () => socket.conn.writeBuffer.length > 0 || (raw()?.writableLength ?? 0) > BATCH;
        const step = () => {
          if (!socket.connected) return;
          let bytes = 0;
          while (i < n && bytes < BATCH) {
            socket.emit('m', messageObject(i, size));
            bytes += size;
            i++;
          }
          if (i < n) whenIdle(busy, step);
        };
        step();
      });
    } else if (q.mode === 'send') {
      const check = checker(n, (stats) => socket.emit('done', stats));
      socket.on('m', check);
    }
  });

  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = http.address().port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    /** Resolves with what the page POSTed to /result/<id>, or rejects after ms. */
    waitResult(id, ms) {
      if (early.has(id)) {
        const v = early.get(id);
        early.delete(id);
        return Promise.resolve(v);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => (waiters.delete(id), reject(new Error(`no result for ${id} within ${ms} ms`))), ms);
        waiters.set(id, { resolve, reject, timer });
      });
    },
    async stop() {
      for (const [id, w] of waiters) clearTimeout(w.timer), w.reject(new Error(`bench server stopped before a result for ${id}`));
      waiters.clear();
      io.close();
      wss.close();
      uploads.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** Counts numbered messages and checks their order; calls done(stats) at the n-th. */
function checker(n, done) {
  let count = 0;
  let next = 0;
  let outOfOrder = 0;
  return (m) => {
    count++;
    if (m.seq !== next) outOfOrder++;
    next = m.seq + 1;
    if (count === n) done({ count, outOfOrder });
  };
}
