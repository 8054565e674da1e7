// A hostile heartline protocol server for the adversarial upload tests: a real `ws` server on
// 127.0.0.1 port 0 that speaks just enough of PROTOCOL.md (welcome, ready) and hands every upload
// frame to the test's script. The client is heartline in Node with `ws`'s WebSocket injected.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { connect } from '../../src/index';
import type { Connection, Options } from '../../src/index';

/**
 * `ws`'s WebSocket with a no-op 'error' listener: an 'error' event nobody listens to would kill the
 * test process (issue 12, case 1, fixed in src/connect.ts separately).
 */
export class QuietWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    this.on('error', () => {});
  }
}

/** An upload frame from the client: `up.open`/`up.abort` (text) or a chunk (binary). */
export interface Up {
  type: string;
  id: string;
  /** A chunk's OFFSET (NaN for the others). */
  offset: number;
  /** A chunk's bytes (empty for the others). */
  bytes: Buffer;
  /** `up.open`'s JSON. */
  meta: { size: number } | undefined;
}

export interface Hostile {
  url: string;
  /** Every upload frame received, in order. */
  frames: Up[];
  chunks(): Up[];
  /** WebSocket connections accepted. */
  connections: number;
  stop(): Promise<void>;
}

/**
 * Starts a server: `script` sees every upload frame and answers through `send`. `hello` is answered
 * with `ready` unless `ready` is false (the connection then never opens).
 */
export const hostile = async (script: (f: Up, send: (frame: string) => void) => void, ready = true): Promise<Hostile> => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const h: Hostile = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/hl`,
    frames: [],
    chunks: () => h.frames.filter((f) => f.type === 'up.chunk'),
    connections: 0,
    stop: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (ws) => {
    h.connections++;
    ws.on('error', () => {});
    const send = (frame: string): void => {
      if (ws.readyState === 1) ws.send(frame);
    };
    send('welcome {"v":1}');
    ws.on('message', (data: Buffer, binary: boolean) => {
      const nl = data.indexOf(10);
      const head = data.toString('latin1', 0, nl < 0 ? data.length : nl).split(' ');
      if (!binary && head[0] === 'hello') return void (ready && send('ready {"session":"s","ack":0,"resumed":false}'));
      if (!head[0]!.startsWith('up.')) return;
      const body = nl < 0 ? Buffer.alloc(0) : data.subarray(nl + 1);
      const f: Up = {
        type: head[0]!,
        id: head[1]!,
        offset: binary ? Number(head[2]) : NaN,
        bytes: binary ? body : Buffer.alloc(0),
        meta: head[0] === 'up.open' ? JSON.parse(body.toString()) : undefined,
      };
      h.frames.push(f);
      script(f, send);
    });
  });
  return h;
};

/**
 * A server that stores what it is sent, as PROTOCOL.md section 7 says (answers `up.open` with
 * what it holds, acknowledges each chunk, `up.done` at the end), with hooks to lie.
 */
export const honest = () => {
  const held = new Map<string, { size: number; n: number }>();
  return {
    held,
    script(f: Up, send: (frame: string) => void): void {
      const u = held.get(f.id) ?? { size: f.meta?.size ?? 0, n: 0 };
      held.set(f.id, u);
      if (f.type === 'up.open') send(`up.offset ${f.id} ${u.n}`);
      if (f.type === 'up.chunk') {
        if (f.offset > u.n) return send(`up.offset ${f.id} ${u.n}`);
        u.n = Math.max(u.n, f.offset + f.bytes.length);
        send(`up.ack ${f.id} ${u.n}`);
      }
      if (f.type !== 'up.abort' && u.n === u.size) send(`up.done ${f.id} {"id":"${f.id}","size":${u.size}}`);
    },
  };
};

const conns: Connection[] = [];
/** A heartline connection to `url` over `ws`, WebSocket only; `closeAll()` ends every one. */
export const client = (url: string, o: Options = {}): Connection => {
  const c = connect(url, {
    WebSocket: QuietWebSocket as never,
    transports: ['websocket'],
    heartbeat: false,
    reconnect: { initialDelay: 10, maxDelay: 50 },
    ...o,
  });
  conns.push(c);
  return c;
};
export const closeAll = (): void => conns.splice(0).forEach((c) => c.close());

/** Resolves with 'resolved', the UploadError's reason, or 'pending' when `ms` pass first. */
export const outcome = (p: Promise<unknown>, ms: number): Promise<string> =>
  Promise.race([
    p.then(
      () => 'resolved',
      (e: { name?: string; reason?: string }) => (e && e.name === 'HeartlineError' && e.reason ? e.reason : `not an UploadError: ${String(e)}`),
    ),
    new Promise<string>((r) => setTimeout(r, ms, 'pending')),
  ]);

/** A Blob that counts how often it is sliced: every upload pump (and, without BYOB streams, every chunk read) slices it. */
export class CountingBlob extends Blob {
  slices = 0;
  override slice(start?: number, end?: number, type?: string): Blob {
    this.slices++;
    return super.slice(start, end, type);
  }
}

export const bytesOf = (n: number, seed = 7): Uint8Array<ArrayBuffer> => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);

/** Waits until `cond()` holds, polling every 5 ms, for at most `ms` (then returns false). */
export const until = async (cond: () => unknown, ms = 2000): Promise<boolean> => {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) return false;
  return true;
};
