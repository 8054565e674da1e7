// Shared by the server tests: a heartline server on a real node:http server at 127.0.0.1:0, the
// heartline client (src/) in Node against it, and small waits bounded in time.
import { createServer as httpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsSocket } from 'ws';
import { connect, type Connection, type Options } from '../../src/index.js';
import { createServer, type HeartlineServer, type ServerOptions } from '../../src/server/index.js';

/**
 * `ws`'s WebSocket with a no-op 'error' listener, so a socket error cannot crash the test process
 * (the client sets `onerror`, but an EventEmitter 'error' without listeners throws).
 */
export class NodeWebSocket extends WsSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    this.on('error', () => {});
  }
}

export interface Running {
  live: HeartlineServer;
  http: Server;
  /** `http://127.0.0.1:PORT/live` */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A heartline server attached to a new node:http server on 127.0.0.1 (`port`: 0, a free one, by default). */
export async function start(options: ServerOptions & { port?: number } = {}): Promise<Running> {
  const { port: wanted = 0, ...rest } = options;
  const live = createServer({ onError: () => {}, ...rest });
  const http = httpServer(live.handler);
  live.attach(http);
  await new Promise<void>((resolve) => http.listen(wanted, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    live,
    http,
    port,
    url: `http://127.0.0.1:${port}${live.path}`,
    async stop() {
      await live.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** The heartline client in Node, on one transport, quick to give up (tests bound their time). */
export function client(url: string | (() => string), transport: 'websocket' | 'sse' | 'longpoll', options: Options = {}): Connection {
  return connect(url, {
    transports: [transport],
    WebSocket: NodeWebSocket as unknown as NonNullable<Options['WebSocket']>,
    reconnect: { initialDelay: 20, maxDelay: 200 },
    ...options,
  });
}

/** Resolves once `check()` is truthy (polled every 10 ms); rejects after `ms`. */
export async function until<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The next `type` event of a connection, or a rejection after `ms`. */
export function next<T = unknown>(conn: Connection, type: 'open' | 'message' | 'error' | 'close', ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (off(), reject(new Error(`no ${type} event within ${ms} ms`))), ms);
    const off = conn.on(type, ((v: unknown) => (clearTimeout(t), off(), resolve(v as T))) as never);
  });
}

export const TRANSPORTS = ['websocket', 'sse', 'longpoll'] as const;

/** A raw `ws` client speaking the protocol by hand: every frame received, the close code. */
export interface Raw {
  ws: WsSocket;
  /** Text frames received, in order (binary frames as `<binary N>`). */
  frames: string[];
  /** Resolves with the close code. */
  closed: Promise<number>;
  /** The first frame matching `re` (waits for it); rejects after `ms`. */
  frame(re: RegExp, ms?: number): Promise<string>;
}

export function raw(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  const ws = new WsSocket(url.replace(/^http/, 'ws') + (url.includes('?') ? '&' : '?') + 'heartline=1', { headers });
  ws.on('error', () => {});
  const frames: string[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data, binary) => frames.push(binary ? `<binary ${(data as Buffer).length}>` : String(data)));
  const frame = (re: RegExp, ms = 5000): Promise<string> => until(() => frames.find((f) => re.test(f)), ms, `a frame ${re}`) as Promise<string>;
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames, closed, frame }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** A raw client that said `hello` and got `ready`: its session id. */
export async function rawReady(url: string, hello: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Raw & { session: string }> {
  const r = await raw(url, headers);
  await r.frame(/^welcome /);
  r.ws.send(`hello ${JSON.stringify({ v: 1, ...hello })}`);
  const ready = await r.frame(/^ready /);
  return { ...r, session: (JSON.parse(ready.slice(6)) as { session: string }).session };
}
