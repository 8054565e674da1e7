// @vitest-environment node
// Every bound of heartline/server enforced, with its typed close code or HTTP status, on a real
// server on 127.0.0.1 (small limits so each test stays short).
import { afterEach, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { raw, rawReady, start, until, type Running } from './helpers.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { Accept: 'text/event-stream', ...headers } });

describe('sizes', () => {
  it('a text frame over maxMessageSize closes 1009; a frame over the socket limit too; a POST body over it gets 413', async () => {
    running = await start({ limits: { maxMessageSize: 1000, maxChunkSize: 2000 } });
    const a = await rawReady(running.url);
    a.ws.send(`msg 1\n${'x'.repeat(1500)}`);
    expect(await a.closed).toBe(1009);
    const b = await rawReady(running.url);
    b.ws.send(Buffer.alloc(4000));
    expect(await b.closed).toBe(1009);
    const c = await rawReady(running.url);
    c.ws.send('bin 1');
    c.ws.send(Buffer.alloc(1500));
    expect(await c.closed).toBe(1009);
    const session = c.session;
    const post = await fetch(`${running.url}?heartline=1&session=${session}&seq=1`, { method: 'POST', body: 'y'.repeat(1001) });
    expect(post.status).toBe(413);
  });

  it('an upload chunk over maxChunkSize fails its upload with 413 (WebSocket and POST)', async () => {
    running = await start({ onUpload: () => {}, limits: { maxChunkSize: 1024 } });
    const r = await rawReady(running.url);
    r.ws.send('up.open u1\n{"size":100000}');
    await r.frame(/^up\.offset u1 0$/);
    r.ws.send(Buffer.concat([Buffer.from('up.chunk u1 0 -\n'), Buffer.alloc(1500)]));
    await r.frame(/^up\.error u1 413 /);
    r.ws.send('up.open u2\n{"size":100000}');
    await r.frame(/^up\.offset u2 0$/);
    const post = await fetch(`${running.url}?heartline=1&session=${r.session}`, {
      method: 'POST',
      body: Buffer.concat([Buffer.from('up.chunk u2 0 -\n'), Buffer.alloc(4096)]),
    });
    expect([post.status, await post.text()]).toEqual([200, 'up.error u2 413 chunk%20too%20large']);
  });

  it('URLs over maxUrlLength get 414, header values over maxHeaderValue 431', async () => {
    running = await start({ limits: { maxUrlLength: 200, maxHeaderValue: 100 } });
    expect((await get(`${running.url}?heartline=1&pad=${'x'.repeat(300)}`)).status).toBe(414);
    expect((await get(`${running.url}?heartline=1`, { Authorization: 'x'.repeat(200) })).status).toBe(431);
    await expect(raw(`${running.url}?pad=${'x'.repeat(300)}`)).rejects.toMatchObject({ status: 414 });
  });
});

describe('rates and counts', () => {
  it('a burst over messageRate is slowed, not cut: 300 messages at once (a resent outbox) are all acknowledged', async () => {
    const got: number[] = [];
    running = await start({ limits: { messageRate: 100 }, onMessage: (m) => void got.push(m.seq) });
    const r = await rawReady(running.url);
    for (let i = 1; i <= 300; i += 1) r.ws.send(`msg ${i}\n${i}`);
    await r.frame(/^ack 300$/, 10000);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(r.ws.readyState).toBe(r.ws.OPEN);
    r.ws.close();
  });

  it('a WebSocket flooding past 20 s of messageRate is closed 1013; POSTs over it get 429 with Retry-After', async () => {
    running = await start({ limits: { messageRate: 20 } });
    const r = await rawReady(running.url);
    for (let i = 1; i <= 2000; i += 1) r.ws.send(`ping ${i}`);
    expect(await r.closed).toBe(1013);
    const s = await rawReady(running.url);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`${running!.url}?heartline=1&session=${s.session}`, { method: 'POST', body: 'ping 1' })),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
    s.ws.close();
  });

  it('maxSessions: a new session past it gets close 1013 / 503; known sessions still connect', async () => {
    running = await start({ limits: { maxSessions: 2 } });
    const a = await rawReady(running.url);
    await rawReady(running.url);
    const c = await raw(running.url);
    await c.frame(/^welcome /);
    c.ws.send('hello {"v":1}');
    expect(await c.closed).toBe(1013);
    const sse = await get(`${running.url}?heartline=1`);
    expect([sse.status, sse.headers.get('retry-after')]).toEqual([503, '10']);
    a.ws.close();
    const again = await rawReady(running.url, { session: a.session });
    expect(again.session).toBe(a.session);
  });

  /**
   * Sends `n` messages of `size` bytes while onMessage is stuck: the server must stop reading, so
   * more than `left` bytes stay in the sender (the kernel's loopback buffers hold a few MiB; a
   * server that queued every frame would have drained it). Then all arrive, in order.
   */
  const stuckReader = async (limits: Record<string, number>, n: number, size: number, left: number): Promise<void> => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const got: number[] = [];
    running = await start({ limits: { messageRate: 1e6, ...limits }, onMessage: async (m) => void (await gate, got.push(m.seq)) });
    const r = await rawReady(running.url);
    const payload = 'p'.repeat(size);
    for (let i = 1; i <= n; i += 1) r.ws.send(`msg ${i}\n${payload}`);
    let before = -1;
    await until(async () => {
      const now = r.ws.bufferedAmount;
      await new Promise((res) => setTimeout(res, 300));
      return now === r.ws.bufferedAmount && now === (before = now) ? true : false;
    }, 15000, 'the sender to stop draining');
    expect(before).toBeGreaterThan(left);
    expect(got).toEqual([]);
    open();
    await r.frame(new RegExp(`^ack ${n}$`), 20000);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    r.ws.close();
  };

  it('maxPendingMessages: while onMessage is stuck the socket is not read (the bytes wait in the sender), then all arrive in order', async () => {
    await stuckReader({ maxPendingMessages: 8 }, 5000, 4096, 4 << 20); // ~20 MB sent
  }, 30000);

  it('maxPendingBytes: big frames waiting for onMessage stop the reading at that many bytes, not at maxPendingMessages frames; then all arrive in order', async () => {
    // 48 frames of 512 KiB (24 MiB) are under the 64 frames of maxPendingMessages; the byte bound stops at 1 MiB.
    await stuckReader({ maxPendingBytes: 1 << 20 }, 48, 512 * 1024, 8 << 20);
  }, 30000);

  it('a WebSocket that never says hello is closed 1008 after helloTimeout', async () => {
    running = await start({ limits: { helloTimeout: 200 } });
    const r = await raw(running.url);
    expect(await r.closed).toBe(1008);
    await until(async () => (await running!.live.stats()).handshaking === 0, 5000, 'the handshake count');
  });
});

describe('slow consumers', () => {
  it('a WebSocket that stops reading is cut with 1013 once maxBufferedBytes are queued', async () => {
    running = await start({ limits: { maxBufferedBytes: 256 * 1024 } });
    const r = await rawReady(running.url);
    const socket = (r.ws as unknown as { _socket: Duplex })._socket;
    socket.pause();
    const big = 'z'.repeat(64 * 1024);
    for (let i = 0; i < 2000 && (await running.live.stats()).connections.websocket > 0; i += 1) {
      await running.live.publish('default', big);
    }
    expect((await running.live.stats()).connections.websocket).toBe(0);
    socket.resume();
    expect(await r.closed).toBe(1013);
  });

  it('an SSE response that is not read is ended once maxBufferedBytes are queued', async () => {
    running = await start({ limits: { maxBufferedBytes: 256 * 1024 } });
    const res = await get(`${running.url}?heartline=1`);
    expect(res.status).toBe(200);
    await until(async () => (await running!.live.stats()).connections.sse === 1, 5000, 'the stream');
    const big = 'z'.repeat(64 * 1024);
    for (let i = 0; i < 2000 && (await running.live.stats()).connections.sse > 0; i += 1) {
      await running.live.publish('default', big);
    }
    expect((await running.live.stats()).connections.sse).toBe(0);
    await res.body?.cancel().catch(() => {});
  });

  it('a long-poll connection that stops polling gets close 1013 on its next poll once maxBufferedBytes are queued', async () => {
    running = await start({ limits: { maxBufferedBytes: 256 * 1024 } });
    const first = await (await fetch(`${running.url}?heartline=1&poll=1&open=1`)).text();
    const session = /"session":"([^"]+)"/.exec(first)![1];
    for (let i = 0; i < 5; i += 1) await running.live.publish('default', 'z'.repeat(64 * 1024));
    const next = await (await fetch(`${running.url}?heartline=1&poll=1&session=${session}`)).text();
    expect(next).toBe('event: heartline\ndata: close 1013 slow%20consumer\n\n');
    expect((await fetch(`${running.url}?heartline=1&poll=1&session=${session}`)).status).toBe(409);
  });
});
