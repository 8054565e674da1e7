// @vitest-environment node
// The client in Node with the `ws` package injected (the README's way for Node < 22), against
// real sockets on 127.0.0.1 that fail in every way a socket can. `ws` emits an 'error' event for
// each of these; an EventEmitter 'error' with no listener kills the process. Issue 12, case 1.
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { connect } from '../../src/index';
import type { Connection, HeartlineError, Options } from '../../src/index';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Every uncaught exception and unhandled rejection while a test runs (vitest would also fail the file). */
const crashes = (): unknown[] => {
  const seen: unknown[] = [];
  const onErr = (e: unknown) => seen.push(e);
  process.on('uncaughtException', onErr);
  process.on('unhandledRejection', onErr);
  cleanup.push(() => {
    process.off('uncaughtException', onErr);
    process.off('unhandledRejection', onErr);
  });
  return seen;
};

const wsServer = async (): Promise<{ wss: WebSocketServer; url: string }> => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  cleanup.push(() => new Promise((r) => (wss.clients.forEach((c) => c.terminate()), wss.close(r))));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/live` };
};

/** A TCP server that runs `onSocket` for each connection (a raw, misbehaving "WebSocket server"). */
const tcpServer = async (onSocket: (s: Socket) => void): Promise<string> => {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  cleanup.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), srv.close(r))));
  return `ws://127.0.0.1:${(srv.address() as AddressInfo).port}/live`;
};

/** A port nothing listens on. */
const refusedUrl = async (): Promise<string> => {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return `ws://127.0.0.1:${port}/live`;
};

const use = (url: string, o: Options = {}): { c: Connection; errors: HeartlineError[] } => {
  const c = connect(url, { WebSocket: WebSocket as never, protocol: 'plain', reconnect: { initialDelay: 50, maxDelay: 100 }, ...o });
  const errors: HeartlineError[] = [];
  c.on('error', (e) => void errors.push(e));
  cleanup.push(() => c.close());
  return { c, errors };
};

/** Accept the upgrade by hand, then write `frame` raw (a server-to-client frame is unmasked). */
const handshakeThen = (frame: Buffer) => (s: Socket) => {
  s.once('data', (req) => {
    const key = /sec-websocket-key: *(\S+)/i.exec(String(req))![1]!;
    const accept = require('node:crypto').createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    setTimeout(() => s.write(frame), 20);
  });
};

const until = async (cond: () => boolean, ms = 4000): Promise<void> => {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Node + ws: no socket error escapes as an unhandled error event', () => {
  it('a refused connection is a typed error and a retry, not a crash', async () => {
    const seen = crashes();
    const { c, errors } = use(await refusedUrl());
    await until(() => errors.length >= 2);
    expect(errors[0]!.code).toBe('connect');
    expect(c.state).toBe('reconnecting');
    expect(seen).toEqual([]);
  });

  it('close() and reconnect() while the socket is still connecting leave no error behind', async () => {
    const seen = crashes();
    const url = await tcpServer(() => {}); // accepts TCP, never answers the handshake
    const { c } = use(url);
    await new Promise((r) => setTimeout(r, 30));
    c.reconnect();
    await new Promise((r) => setTimeout(r, 30));
    c.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(c.state).toBe('closed');
    expect(seen).toEqual([]);
  });

  it('a connect timeout while the handshake hangs is a retry, not a crash', async () => {
    const seen = crashes();
    const url = await tcpServer(() => {});
    const { c } = use(url, { heartbeat: { timeout: 100 } });
    const states: string[] = [];
    c.on('state', (s, i) => void states.push(`${s}:${i.reason}`));
    await until(() => states.includes('reconnecting:connect-timeout'));
    expect(seen).toEqual([]);
  });

  it('invalid UTF-8, a reserved opcode and an oversized message each end the connection with a typed error', async () => {
    const seen = crashes();
    const badUtf8 = Buffer.from([0x81, 0x02, 0xc3, 0x28]);
    const reservedOpcode = Buffer.from([0x83, 0x00]);
    for (const frame of [badUtf8, reservedOpcode]) {
      const { c, errors } = use(await tcpServer(handshakeThen(frame)));
      const closes: number[] = [];
      c.on('close', (i) => void closes.push(i.code));
      await until(() => closes.length > 0);
      expect(closes[0]).toBe(1006);
      c.close();
      expect(errors.every((e) => typeof e.code == 'string')).toBe(true);
    }
    class Small extends WebSocket {
      constructor(url: string, p?: string | string[]) {
        super(url, p, { maxPayload: 1024 });
      }
    }
    const { wss, url } = await wsServer();
    wss.on('connection', (s) => s.send('x'.repeat(4096)));
    const { c } = use(url, { WebSocket: Small as never });
    const closes: number[] = [];
    c.on('close', (i) => void closes.push(i.code));
    await until(() => closes.length > 0);
    expect([1006, 1009]).toContain(closes[0]); // ws fails the connection with 1009; the server never answers the close
    expect(seen).toEqual([]);
  });

  it('a refused upgrade (HTTP 502) is a typed error naming the status, not a crash', async () => {
    const seen = crashes();
    const url = await tcpServer((s) => s.once('data', () => s.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')));
    const { c, errors } = use(url);
    await until(() => errors.length >= 1);
    expect(errors[0]!.code).toBe('connect');
    expect(String((errors[0]!.cause as Error | undefined)?.message)).toMatch(/502/);
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]);
  });

  it('heartline/ws absorbs socket errors too', async () => {
    const { connect: connectWs } = await import('../../src/ws');
    const seen = crashes();
    const c = connectWs(await refusedUrl(), { WebSocket: WebSocket as never, reconnect: { initialDelay: 20, maxDelay: 40 } });
    cleanup.push(() => c.close());
    const errors: HeartlineError[] = [];
    c.on('error', (e) => void errors.push(e));
    await until(() => errors.length >= 2);
    c.close();
    expect(seen).toEqual([]);
  });
});
