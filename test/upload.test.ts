// @vitest-environment node
// conn.upload() (PROTOCOL.md section 7) against a scripted protocol server on the fake WebSocket,
// with real Blobs, real SHA-256 and real (short) timers: every wait is for an event, bounded.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { HeartlineError, UploadError, connect } from '../src/index';
import type { Connection, UploadOptions } from '../src/index';
import { chunkCheck } from '../src/server/frames.js'; // heartline/server's, to agree with
import { FakeWebSocket, liveSockets, resetSockets, sockets } from './fake-websocket';

const until = async (cond: () => unknown, what: string, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

type Lie = 'beyond' | 'back' | 'early' | 'silent' | undefined;
/** What the scripted server stores, per upload id: it survives reconnects, like a real server's. */
const store = new Map<string, { size: number; bytes: Buffer[]; held: number; opens: number; offsets: number[] }>();
const server = { lie: undefined as Lie, dropAfterChunks: 0, chunks: 0, maxBuffered: 0, drainPerTick: Infinity, strict: true, checks: [] as string[], before: [] as number[] };

/** A heartline protocol server on the fake socket: welcome, ready, and uploads (no app messages). */
class UploadServer extends FakeWebSocket {
  private mine = 0; // chunks this socket carried
  private dead = false; // about to be cut: what still arrives is lost on the wire
  constructor(url: string, p?: string | string[]) {
    super(url, p);
    setTimeout(() => {
      this.open();
      this.receive('welcome {"v":1}');
    }, 1);
  }
  private reply(frame: string): void {
    setTimeout(() => this.readyState === 1 && this.receive(frame), 0);
  }
  override send(d: unknown): void {
    super.send(typeof d == 'string' ? d : Uint8Array.from(d as Uint8Array)); // a real socket copies too
    if (this.dead) return;
    if (typeof d != 'string') {
      // A chunk frame, `up.chunk ID OFFSET CHECK\n` + bytes: the fake network holds it in bufferedAmount.
      const frame = Buffer.from(d as Uint8Array);
      server.before.push(this.bufferedAmount);
      this.bufferedAmount += frame.length;
      server.maxBuffered = Math.max(server.maxBuffered, this.bufferedAmount);
      const nl = frame.indexOf(10);
      return this.chunk(frame.toString('latin1', 0, nl).split(' '), frame.subarray(nl + 1));
    }
    const [head, body] = [d.split('\n')[0]!, d.slice(d.indexOf('\n') + 1)];
    const f = head.split(' ');
    if (f[0] === 'hello') this.reply('ready {"session":"s1","ack":0,"resumed":false}');
    else if (f[0] === 'up.open') {
      const meta = JSON.parse(body);
      const u = store.get(f[1]!) ?? { size: meta.size, bytes: [], held: 0, opens: 0, offsets: [] };
      u.opens++;
      store.set(f[1]!, u);
      this.reply(`up.offset ${f[1]} ${u.held}`);
      if (server.lie === 'early' || u.size === 0) this.done(f[1]!);
    }
  }
  private chunk([type, id, offset, sha]: string[], bytes: Buffer): void {
    expect(type).toBe('up.chunk');
    const u = store.get(id!)!;
    u.offsets.push(+offset!);
    if (server.strict) {
      if (sha !== '-') expect(sha).toBe(chunkCheck(bytes));
      server.checks.push(sha!);
      expect(+offset!).toBe(u.held); // the client never skips or repeats from the server's offset
    }
    u.bytes.push(bytes);
    u.held += bytes.length;
    server.chunks++;
    if (server.lie === 'silent') return;
    const n = server.lie === 'beyond' ? u.size + 1000 : server.lie === 'back' && server.chunks === 3 ? 0 : u.held;
    this.reply(`up.ack ${id} ${n}`);
    if (u.held === u.size) this.done(id!);
    if (++this.mine === server.dropAfterChunks && u.held < u.size) {
      this.dead = true;
      setTimeout(() => this.serverClose(1006, '', false), 1);
    }
  }
  private done(id: string): void {
    const u = store.get(id)!;
    const sha256 = createHash('sha256').update(Buffer.concat(u.bytes)).digest('hex');
    this.reply(`up.done ${id} ${JSON.stringify({ id, size: u.size, sha256, name: 'x' })}`);
  }
}

/** Drains the fake network: bufferedAmount falls by `drainPerTick` every ms. */
const drain = setInterval(() => {
  for (const s of sockets) s.bufferedAmount = Math.max(0, s.bufferedAmount - server.drainPerTick);
}, 1);
afterEach(() => {
  expect(liveSockets().length).toBeLessThanOrEqual(1);
  resetSockets();
  store.clear();
  Object.assign(server, { lie: undefined, dropAfterChunks: 0, chunks: 0, maxBuffered: 0, drainPerTick: Infinity, strict: true, checks: [], before: [] });
});
process.on('exit', () => clearInterval(drain));

const conns: Connection[] = [];
afterEach(() => conns.splice(0).forEach((c) => c.close()));
const hl = (o = {}): Connection => {
  const c = connect('ws://127.0.0.1:1/hl', {
    WebSocket: UploadServer as never,
    reconnect: { initialDelay: 1, maxDelay: 5 },
    heartbeat: false,
    ...o,
  });
  conns.push(c);
  return c;
};
const bytesOf = (n: number, seed = 7): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const reasonOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof UploadError ? e.reason : `not an UploadError: ${String(e)}`),
  );

describe('chunkCheck', () => {
  it('gives the PROTOCOL.md values and agrees with heartline/server on random, unaligned chunks', async () => {
    const { chunkCheck: clientCheck } = await import('../src/upload');
    expect(clientCheck(new Uint8Array())).toBe('0000000000000000');
    expect(clientCheck(Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0]))).toBe('0000000300000004');
    expect(clientCheck(Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 255, 7]))).toBe('0000000500000002');
    for (let i = 0; i < 50; i++) {
      const bytes = bytesOf((i * 997) % 5000, i);
      const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
      unaligned.set(bytes);
      expect(clientCheck(unaligned)).toBe(chunkCheck(Buffer.from(bytes)));
    }
  });
});

describe('conn.upload() over WebSocket', () => {
  it('sends chunks in order from the offset the server names, each with its check (verify: true), and resolves with the server result', async () => {
    const data = bytesOf(3.5 * 1024);
    const seen: { sent: number; acknowledged: number }[] = [];
    const c = hl();
    const result = await c.upload(new Blob([data as BlobPart]), {
      chunkSize: 1024,
      verify: true,
      onProgress: ({ sent, acknowledged, total }) => (expect(total).toBe(data.length), seen.push({ sent, acknowledged })),
    });
    expect(result.sha256).toBe(sha(data));
    expect(result.size).toBe(data.length);
    const [u] = [...store.values()];
    expect(u!.offsets).toEqual([0, 1024, 2048, 3072]);
    expect(server.checks.every((x) => /^[0-9a-f]{16}$/.test(x))).toBe(true); // checked above against heartline/server's
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.sent).toBeGreaterThanOrEqual(seen[i - 1]!.sent);
      expect(seen[i]!.acknowledged).toBeGreaterThanOrEqual(seen[i - 1]!.acknowledged);
      expect(seen[i]!.acknowledged).toBeLessThanOrEqual(seen[i]!.sent);
    }
    expect(seen.at(-1)).toEqual({ sent: data.length, acknowledged: data.length });
  });

  it('hands nothing over while bufferedAmount is at the high-water mark, and keeps it under hwm + one chunk', async () => {
    server.drainPerTick = 0; // the network is stuck
    const c = hl();
    const data = bytesOf(64 * 1024);
    const done = c.upload(new Blob([data as BlobPart]), { chunkSize: 4096, highWaterMark: 16384 });
    await until(() => server.chunks === 4, 'the first four chunks'); // 0 -> 16384 + 4 header lines buffered
    await new Promise((r) => setTimeout(r, 60)); // proving an absence: a bounded, stated wait (dozens of 1-16 ms polls)
    expect(server.chunks).toBe(4); // nothing more while the buffer is full
    server.drainPerTick = 2048; // ~2 MB/s
    expect((await done).sha256).toBe(sha(data));
    expect(server.maxBuffered).toBeLessThanOrEqual(16384 + 4096 + 128); // + one chunk frame's header line (under 128 bytes)
  });

  it('on a slow link keeps only about 25 ms of data buffered, far below highWaterMark', async () => {
    server.drainPerTick = 2048; // ~2 MB/s at most (the fake network drains every ms tick)
    const c = hl();
    const data = bytesOf(512 * 1024);
    const r = await c.upload(new Blob([data as BlobPart]), { chunkSize: 4096, highWaterMark: 1 << 20 });
    expect(r.sha256).toBe(sha(data));
    // Once the rate is learnt (the second half), a chunk goes only when what is buffered drains in
    // about 25 ms: 2048 B/ms x 25 = 51200 B, never the 1 MiB mark the option allows. Twice that is
    // allowed: one rate sample over a Date.now() step of 1 ms can span two drain ticks.
    const late = server.before.slice(server.before.length / 2);
    expect(late.length).toBeGreaterThan(60);
    expect(Math.max(...late)).toBeLessThanOrEqual(2 * 2048 * 25);
    expect(Math.max(...server.before)).toBeLessThan(1 << 20);
  });

  it('resumes from the acknowledged offset after each reconnect, never from zero', async () => {
    server.dropAfterChunks = 3;
    const c = hl();
    const data = bytesOf(10 * 1000 + 17);
    const result = await c.upload(new Blob([data as BlobPart]), { chunkSize: 1000 });
    expect(result.sha256).toBe(sha(data));
    expect(new Set(server.checks)).toEqual(new Set(['-'])); // no check unless verify: true
    const [u] = [...store.values()];
    expect(u!.opens).toBe(4); // the first open and three resumes
    expect(u!.offsets).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    expect(sockets.length).toBe(4);
  });

  it('an onProgress that throws is reported as an error event and the upload still completes, resumes included', async () => {
    server.dropAfterChunks = 2;
    const c = hl();
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    const data = bytesOf(6000);
    const r = await c.upload(new Blob([data as BlobPart]), {
      chunkSize: 1000,
      onProgress: () => {
        throw new Error('app bug');
      },
    });
    expect(r.sha256).toBe(sha(data));
    expect(errors.length).toBeGreaterThan(6); // every call, including those on up.offset after each cut
    expect(errors.every((e) => e instanceof HeartlineError && e.code === 'listener' && (e.cause as Error).message === 'app bug')).toBe(true);
  });

  it('uploads a zero-byte file', async () => {
    const c = hl();
    const r = await c.upload(new Blob([]), { name: 'empty.txt' });
    expect(r).toMatchObject({ size: 0, sha256: sha(new Uint8Array()) });
  });

  it('shares a busy socket between several uploads chunk by chunk', async () => {
    server.drainPerTick = 1024; // the network, not the file, is the limit: both wait on bufferedAmount
    const c = hl();
    const a = bytesOf(8192, 1);
    const b = bytesOf(8192, 2);
    const [ra, rb] = await Promise.all([
      c.upload(new Blob([a as BlobPart]), { chunkSize: 1024, highWaterMark: 1024 }),
      c.upload(new Blob([b as BlobPart]), { chunkSize: 1024, highWaterMark: 1024 }),
    ]);
    expect([ra.sha256, rb.sha256]).toEqual([sha(a), sha(b)]);
    // Chunk frames are binary: `up.chunk ID OFFSET CHECK\n` + bytes.
    const heads = sockets[0]!.sent.filter((f) => typeof f != 'string').map((f) => Buffer.from(f as Uint8Array).toString('latin1', 0, 40));
    const order = heads.filter((h) => h.startsWith('up.chunk ')).map((h) => h.split(' ')[1]);
    expect(order).toHaveLength(16);
    const switches = order.filter((id, i) => i > 0 && id !== order[i - 1]).length;
    expect(switches).toBeGreaterThan(4); // not one file after the other
  });

  const lies: [Lie, string][] = [
    ['beyond', 'an acknowledgement beyond the file size'],
    ['back', 'an acknowledgement that goes backwards'],
    ['early', 'up.done before every byte was sent'],
  ];
  for (const [lie, what] of lies) {
    it(`fails with UploadError bad-ack on ${what}, and tells the server to discard it`, async () => {
      server.lie = lie;
      server.drainPerTick = 1000; // a slow network, so the lie arrives while bytes are still to go
      const c = hl();
      const p = c.upload(new Blob([bytesOf(8000) as BlobPart]), { chunkSize: 1000, highWaterMark: 2000 });
      expect(await reasonOf(p)).toBe('bad-ack');
      expect(sockets.at(-1)!.sent.filter((f) => String(f).startsWith('up.abort'))).toHaveLength(1);
      expect(c.state).toBe('open'); // the connection itself is fine
    });
  }

  it('fails with reason stalled when the server never acknowledges', async () => {
    server.lie = 'silent';
    const c = hl();
    const started = Date.now();
    expect(await reasonOf(c.upload(new Blob([bytesOf(3000) as BlobPart]), { chunkSize: 1000, timeout: 150 }))).toBe('stalled');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('rejects when the file cannot be read', async () => {
    class Broken extends Blob {
      override slice(): Blob {
        return { stream: () => { throw new Error('gone'); }, arrayBuffer: () => Promise.reject(new Error('NotReadableError')) } as never;
      }
    }
    const c = hl();
    const p = c.upload(new Broken([bytesOf(2000) as BlobPart]), { chunkSize: 1000 });
    expect(await reasonOf(p)).toBe('read');
    expect((await p.catch((e: UploadError) => e)).cause).toEqual(new Error('NotReadableError'));
  });

  it('aborts through its signal and tells the server', async () => {
    server.drainPerTick = 0;
    const c = hl();
    const ac = new AbortController();
    const p = c.upload(new Blob([bytesOf(50000) as BlobPart]), { chunkSize: 1000, highWaterMark: 2000, signal: ac.signal });
    await until(() => server.chunks >= 2, 'two chunks');
    ac.abort();
    expect(await reasonOf(p)).toBe('aborted');
    expect(sockets[0]!.sent.filter((f) => String(f).startsWith('up.abort'))).toHaveLength(1);
  });

  it('rejects at once on a closed connection, on a plain server, and on bad arguments', async () => {
    const c = hl();
    c.close();
    expect(await reasonOf(c.upload(new Blob(['x'])))).toBe('closed');
    class Plain extends FakeWebSocket {
      constructor(url: string) {
        super(url);
        setTimeout(() => this.open(), 1);
      }
    }
    const p = connect('ws://127.0.0.1:1/plain', { WebSocket: Plain as never, protocol: 'plain', heartbeat: false });
    conns.push(p);
    const early = reasonOf(p.upload(new Blob(['x']))); // before open: rejected once the server turns out plain
    await until(() => p.state === 'open', 'open');
    expect(await early).toBe('protocol');
    expect(await reasonOf(p.upload(new Blob(['x'])))).toBe('protocol');
    const d = hl();
    const bad: [unknown, UploadOptions, RegExp][] = [
      ['not a blob', {}, /^upload\(\) takes a Blob or File$/],
      [new Blob(['x']), { chunkSize: 0 }, /^option upload\.chunkSize must be a number in \[1, 67108864\], got 0$/],
      [new Blob(['x']), { highWaterMark: -1 }, /^option upload\.highWaterMark must be a number in \[0, 2147483648\], got -1$/],
      [new Blob(['x']), { timeout: Number.NaN }, /^option upload\.timeout must be a number in \[1, 2147483647\], got NaN$/],
    ];
    for (const [blob, o, message] of bad) {
      await expect(d.upload(blob as Blob, o)).rejects.toMatchObject({ code: 'invalid-option', message: expect.stringMatching(message) });
    }
  });

  it('never throws out of a frame handler on random up.* frames: each upload completes or rejects with an UploadError', async () => {
    server.lie = 'silent'; // only the fuzzer answers, and its offsets are nonsense
    server.strict = false;
    const c = hl();
    let seed = 11; // mulberry32: reproducible
    const rnd = (n: number): number => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    const outcomes: string[] = [];
    for (let round = 0; round < 40; round++) {
      const p = c.upload(new Blob([bytesOf(rnd(5000)) as BlobPart]), { chunkSize: 512, timeout: 200 });
      const settled = reasonOf(p).then((r) => outcomes.push(r));
      await until(() => c.state === 'open' && sockets.at(-1)!.sent.some((f) => String(f).startsWith('up.open')), 'up.open');
      const id = String(sockets.at(-1)!.sent.filter((f) => String(f).startsWith('up.open')).at(-1)).split(/[ \n]/)[1]!;
      const types = ['up.offset', 'up.ack', 'up.done', 'up.error', 'up.x', 'up.'];
      const values = ['0', '-1', '1e9', 'NaN', '512', '', '3.5', '{"size":1}', '{', 'x%zz'];
      for (let i = 0; i < 12; i++) {
        const frame = `${types[rnd(types.length)]} ${rnd(4) ? id : 'other'} ${values[rnd(values.length)]}${rnd(2) ? ' ' + values[rnd(values.length)] : ''}`;
        expect(() => sockets.at(-1)!.receive(frame)).not.toThrow();
        await new Promise((r) => setTimeout(r, rnd(3)));
      }
      await settled; // bounded by the upload's own 200 ms timeout
    }
    expect(outcomes.filter((o) => !['resolved', 'bad-ack', 'stalled', 'server'].includes(o))).toEqual([]);
    expect(new Set(outcomes).size).toBeGreaterThanOrEqual(2); // the fuzzer reached more than one outcome
  });

  it('rejects pending uploads when the connection is closed', async () => {
    server.drainPerTick = 0;
    const c = hl();
    const p = c.upload(new Blob([bytesOf(50000) as BlobPart]), { chunkSize: 1000, highWaterMark: 1000 });
    await until(() => server.chunks >= 1, 'a chunk');
    c.close();
    expect(await reasonOf(p)).toBe('closed');
  });
});
