// @vitest-environment node
// Random bytes and malformed frames at every transport of heartline/server: WebSocket frames
// (before and after hello), raw TCP on the upgrade path, SSE and long-poll query strings and
// headers, POST bodies. The process must not crash, every answer must be a typed close code or
// HTTP status, no hook or internal error may be reported, and once the clients are gone nothing
// may be left: no connection, session, upload (or its file) or timer beyond the server's two
// intervals.
// Seeded (mulberry32), so a failure replays.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect as tcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsSocket } from 'ws';
import { FileUploads } from '../../src/server/index.js';
import { client, next, start, until, type Running } from './helpers.js';

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(0x5eed);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(pick([int(128), 0x20 + int(95), 0x0a, 0x2d, 0xe9, 0x2603]))).join('');

const MALFORMED = [
  'hello', 'hello ', 'hello {', 'hello []', 'hello null', 'hello 1', 'hello {"session":5,"lastEventId":{},"auth":[1]}',
  'hello {"lastEventId":"x-99999999999999999999"}', 'hello {"session":"' + 'a'.repeat(5000) + '"}',
  'msg', 'msg -1\nx', 'msg 0\nx', 'msg 99999999999999999999\nx', 'msg 1.5\n', 'msg 1', 'msg 3\ngap', 'bin', 'bin x', 'bin 1',
  'up.open', 'up.open x', 'up.open x\n{', 'up.open x\n{"size":-1}', 'up.open x\n{"size":1e300}', 'up.open x\n{"size":"1"}',
  'up.open x\n{"size":5,"metadata":[1]}', 'up.open ' + 'y'.repeat(100) + '\n{"size":1}', 'up.open x\n{"size":3}', 'up.chunk x 0 -',
  'up.chunk x -5 abc', 'up.chunk', 'up.abort', 'up.abort x', 'ping', 'ping x', 'ping 99999999999999999999', 'pong', 'pong 1',
  'bye', '', '\n\n\n', ' ', '  ', 'welcome {}', 'ready {}', 'ack 5', 'close 1000 x', 'retry 1',
];
const BINARY = () => pick([
  bytes(int(64)),
  Buffer.concat([Buffer.from(`up.chunk x ${pick(['0', '1', '-1', 'q', '99999999'])} ${pick(['-', 'zz', '0000000000000000'])}\n`), bytes(int(8))]),
  Buffer.from('up.chunk'),
  Buffer.from('\n'),
]);
const CLOSE_CODES = new Set([1000, 1002, 1007, 1008, 1009, 1013]);
const STATUSES = new Set([200, 204, 400, 403, 405, 406, 409, 413, 414, 429, 431]);

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function fuzzWebSocket(url: string, codes: number[]): Promise<void> {
  const ws = new WsSocket(`${url.replace(/^http/, 'ws')}?heartline=1`);
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) => ws.on('close', (code) => (codes.push(code), resolve())));
  await new Promise((resolve) => ws.once('open', resolve).once('close', resolve));
  for (let i = 0; i < 40 && ws.readyState === ws.OPEN; i += 1) {
    const r = rand();
    if (r < 0.1) ws.send('hello {"v":1}');
    else if (r < 0.55) ws.send(pick(MALFORMED));
    else if (r < 0.7) ws.send(text(int(200)));
    else if (r < 0.9) ws.send(BINARY());
    else ws.send(bytes(int(32)), { binary: false }); // a text frame that is not UTF-8: 1007
    if (i % 8 === 0) await new Promise((r2) => setTimeout(r2, 1));
  }
  ws.close(1000);
  await closed;
}

/** Raw TCP at the upgrade path: a valid handshake then garbage frames, or garbage from the start. */
function fuzzTcp(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = tcp(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => resolve());
    s.on('connect', () => {
      const handshake = 'GET /live?heartline=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${pick(['dGhlIHNhbXBsZSBub25jZQ==', 'bad', ''])}\r\nSec-WebSocket-Version: ${pick(['13', '8', 'x'])}\r\n\r\n`;
      s.write(rand() < 0.7 ? handshake : bytes(200));
      setTimeout(() => s.write(bytes(int(300))), 5);
      setTimeout(() => s.destroy(), 60);
    });
  });
}

async function fuzzHttp(url: string, statuses: number[]): Promise<void> {
  const query = pick(['heartline=1', 'heartline=1&poll=1&open=1', 'heartline=1&poll=1', '', 'heartline=%zz', `heartline=1&session=${text(10)}`,
    `heartline=1&poll=${pick(['1', '0', '%'])}&session=${encodeURIComponent(text(20))}&lastEventId=${encodeURIComponent(text(30))}`,
    `heartline=1&seq=${pick(['1', '-1', 'x', '99999999999999999999'])}&bin=${pick(['1', '0'])}`, encodeURIComponent(text(50))]);
  const headers: Record<string, string> = {};
  if (rand() < 0.6) headers.Accept = pick(['text/event-stream', '*/*', text(10).replace(/[^\x20-\x7e]/g, '')]);
  if (rand() < 0.3) headers['Last-Event-ID'] = pick(['x-1', '0', '-', 'abc-' + int(1e9)]);
  if (rand() < 0.3) headers.Authorization = 'Bearer ' + int(1e6);
  if (rand() < 0.2) headers.Origin = pick(['https://evil.example', 'null', '%%%']);
  const method = pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
  const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? pick([bytes(int(500)), Buffer.from(pick(MALFORMED)), BINARY()]) : null;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 3000);
  const res = await fetch(`${url}?${query}`, { method, headers, ...(body ? { body } : {}), signal: ctrl.signal }).catch(() => null);
  clearTimeout(timer);
  if (res) statuses.push(res.status), await res.body?.cancel().catch(() => {});
}

describe('fuzz', () => {
  it('random and malformed input on every transport: typed answers, no crash, nothing left behind', async () => {
    const errors: unknown[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'heartline-fuzz-'));
    running = await start({
      uploads: new FileUploads({ dir }),
      heartbeat: 100,
      onUpload: () => {},
      onMessage: () => {},
      onError: (e, ctx) => errors.push([String(e), ctx.where]),
      limits: { sessionTtl: 300, uploadTtl: 300, pollTimeout: 200, maxMessageSize: 4096, maxChunkSize: 4096, messageRate: 1000, helloTimeout: 500 },
    });
    const codes: number[] = [];
    const statuses: number[] = [];
    for (let round = 0; round < 6; round += 1) {
      await Promise.all([
        ...Array.from({ length: 8 }, () => fuzzWebSocket(running!.url, codes)),
        ...Array.from({ length: 4 }, () => fuzzTcp(running!.port)),
        ...Array.from({ length: 25 }, () => fuzzHttp(running!.url, statuses)),
      ]);
    }
    expect(codes.length).toBe(48);
    expect([...new Set(codes)].filter((c) => !CLOSE_CODES.has(c))).toEqual([]);
    expect(statuses.length).toBeGreaterThan(100);
    expect([...new Set(statuses)].filter((s) => !STATUSES.has(s))).toEqual([]);
    expect(errors).toEqual([]);

    // Still serving: a well-behaved client gets through.
    const conn = client(running.url, 'websocket');
    await next(conn, 'open');
    await conn.sendWithAck('still here');
    conn.close();

    const idle = { connections: { websocket: 0, sse: 0, longpoll: 0 }, handshaking: 0, sessions: 0, uploads: 0, timers: 2 };
    let last = '';
    await until(async () => {
      const { events, duplicates, gaps, ...rest } = await running!.live.stats();
      return (last = JSON.stringify(rest)) === JSON.stringify(idle);
    }, 8000, 'the server to hold nothing').catch((e: Error) => {
      throw new Error(`${e.message}: ${last}`);
    });
    expect(readdirSync(dir)).toEqual([]); // every upload file closed and deleted
    rmSync(dir, { recursive: true, force: true });
  });
});
