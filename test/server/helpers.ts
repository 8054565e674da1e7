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

/** A heartline server attached to a new node:http server listening on 127.0.0.1, port 0. */
export async function start(options: ServerOptions = {}): Promise<Running> {
  const live = createServer({ onError: () => {}, ...options });
  const http = httpServer(live.handler);
  live.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
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
export function client(url: string, transport: 'websocket' | 'sse' | 'longpoll', options: Options = {}): Connection {
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
