// Real HTTP servers on 127.0.0.1 port 0 for the adversarial HTTP tests: each test scripts one
// misbehaving server, and the heartline client talks to it with Node's own fetch.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from '../../src/index';
import type { Connection, Options } from '../../src/index';

export interface Hostile {
  url: string;
  /** Every request seen, in order. */
  requests: { url: URL; headers: IncomingMessage['headers']; method: string; at: number }[];
  /** Requests whose response has neither finished nor lost its connection. */
  open(): number;
  /** Body bytes the server managed to write (the socket took them). */
  written: { n: number };
  stop(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, h: Hostile) => void;

export const hostile = async (handler: Handler): Promise<Hostile> => {
  const sockets = new Set<Socket>();
  let active = 0;
  const h: Hostile = {
    url: '',
    requests: [],
    open: () => active,
    written: { n: 0 },
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    h.requests.push({ url: new URL(req.url!, h.url), headers: req.headers, method: req.method!, at: Date.now() });
    active++;
    res.once('close', () => active--);
    try {
      handler(req, res, h);
    } catch {
      res.destroy();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live`;
  return h;
};

/** Writes `chunk` again and again, as fast as the client takes it, until `limit` bytes or the client goes. */
export const flood = (res: ServerResponse, h: Hostile, chunk: Buffer, limit = Infinity): void => {
  const pump = (): void => {
    while (h.written.n < limit && !res.destroyed) {
      h.written.n += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
};

export const until = async (cond: () => unknown, what: string, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const SSE = { 'content-type': 'text/event-stream' };
export const HL = { ...SSE, heartline: '1' };
export const welcome = (session = 's1'): string =>
  `event: heartline\ndata: welcome ${JSON.stringify({ v: 1, session, ack: 0, resumed: false })}\n\n`;

/** A client on one HTTP transport with short backoff, Node's fetch, and every event recorded. */
export const client = (url: string, o: Options = {}): { c: Connection; log: [string, ...unknown[]][] } => {
  const c = connect(url, { transports: ['longpoll'], reconnect: { initialDelay: 50, maxDelay: 200 }, ...o });
  const log: [string, ...unknown[]][] = [];
  for (const t of ['open', 'message', 'close', 'error', 'reconnecting'] as const) c.on(t, (...a: unknown[]) => void log.push([t, ...a]));
  return { c, log };
};
export const of = (log: [string, ...unknown[]][], t: string): unknown[][] => log.filter((e) => e[0] === t).map((e) => e.slice(1));
