// @vitest-environment node
// Long-polling against hostile servers on 127.0.0.1 (node:http) with Node's own fetch: each attack
// is bounded in time and checks the documented outcome (a typed error, a bounded request rate,
// bounded bytes read, nothing left open after close()).
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { HL, SSE, client, flood, hostile, of, sleep, until, welcome } from './http-fixture';
import type { Hostile } from './http-fixture';

let server: Hostile | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});
const isPoll = (r: Hostile['requests'][number]): boolean => r.method === 'GET';

describe('long-polling against a hostile server', () => {
  it('paces a server that answers every poll at once with an empty body, one signal listener at most', async () => {
    server = await hostile((_, res) => res.writeHead(200, SSE).end());
    let listeners = 0;
    const spy: typeof fetch = (u, init) => {
      const s = init?.signal;
      if (s) listeners = Math.max(listeners, getEventListeners(s, 'abort').length);
      return fetch(u, init);
    };
    const { c, log } = client(server.url, { protocol: 'plain', fetch: spy, pollInterval: 200 });
    await sleep(2000);
    const polls = server.requests.filter(isPoll).length;
    c.close();
    // 2 s at one empty poll per 200 ms: about 10 (before the fix: thousands, and as many listeners).
    expect(polls).toBeLessThanOrEqual(13);
    expect(polls).toBeGreaterThanOrEqual(5);
    expect(listeners).toBeLessThanOrEqual(1);
    expect(of(log, 'error')).toEqual([]);
    await until(() => server!.open() === 0, 'nothing left open');
  });

  it('short polling: an idle server answered at once is asked once per pollInterval, and messages still flow', async () => {
    let n = 0;
    server = await hostile((req, res) => {
      if (req.method === 'POST') return void res.end('ack 0');
      const first = new URL(req.url!, 'http://x').searchParams.get('open');
      // Every fourth poll carries an event; the others are empty.
      res.writeHead(200, HL).end(first ? welcome() : ++n % 4 ? ':\n' : `id: ${n}\ndata: m${n}\n\n`);
    });
    const { c, log } = client(server.url, { pollInterval: 100 });
    await sleep(1500);
    c.close();
    const polls = server.requests.filter(isPoll).length;
    const events = of(log, 'message').length;
    expect(events).toBeGreaterThanOrEqual(2);
    expect(polls - events).toBeLessThanOrEqual(1500 / 100 + 2); // a poll with an event is followed at once; empty ones wait
    expect(of(log, 'error')).toEqual([]);
  });

  it('reads a 200 MiB poll body as a stream: an endless line is a typed error after maxEventSize, not 200 MiB buffered', async () => {
    server = await hostile((req, res, h) => {
      if (h.requests.length > 1) return void res.writeHead(204).end();
      res.writeHead(200, { ...SSE, 'content-length': String(200 << 20) });
      flood(res, h, Buffer.from('data: ' + 'x'.repeat(65530)), 200 << 20);
    });
    const heap = process.memoryUsage().heapUsed;
    const { c, log } = client(server.url, { protocol: 'plain', maxEventSize: 65536 });
    await until(() => of(log, 'error').length, 'the error', 8000);
    const grown = process.memoryUsage().heapUsed - heap;
    c.close();
    expect((of(log, 'error')[0]![0] as { code: string }).code).toBe('sse-limit');
    expect(server.written.n).toBeLessThan(16 << 20); // what the socket took before the client cancelled
    expect(grown).toBeLessThan(64 << 20);
  });

  it('reads an endless poll body of small events as a stream, delivering as it goes with bounded memory', async () => {
    server = await hostile((req, res, h) => {
      if (h.requests.length > 1) return void res.writeHead(204).end();
      res.writeHead(200, SSE);
      flood(res, h, Buffer.from('data: tick\n\n'.repeat(4096)));
    });
    const heap = process.memoryUsage().heapUsed;
    const { c, log } = client(server.url, { protocol: 'plain' });
    let got = 0;
    c.on('message', () => void got++);
    await until(() => got > 100000, 'events while the body is still being written', 8000);
    const grown = process.memoryUsage().heapUsed - heap;
    c.close();
    expect(grown).toBeLessThan(64 << 20);
    expect(of(log, 'error')).toEqual([]);
    await until(() => server!.open() === 0, 'nothing left open');
  });

  it('treats a gateway timeout on a held poll as an empty answer and asks the server to hold less (wait=)', async () => {
    const PROXY = 1200; // the proxy's timeout; the server would hold 5 s
    server = await hostile((req, res) => {
      if (req.method === 'POST') return void res.end('ack 0');
      const p = new URL(req.url!, 'http://x').searchParams;
      if (p.get('open')) return void res.writeHead(200, HL).end(welcome());
      const hold = Math.min(5000, +(p.get('wait') || 5000));
      const t = setTimeout(() => (hold > PROXY ? res.writeHead(504).end('gateway timeout') : res.writeHead(200, HL).end(':\n')), Math.min(hold, PROXY));
      res.once('close', () => clearTimeout(t));
    });
    const { c, log } = client(server.url, { heartbeat: { interval: 20000, timeout: 5000 } });
    await sleep(5500);
    c.close();
    expect(of(log, 'error')).toEqual([]); // before: an error and a reconnect per 504
    expect(of(log, 'close')).toHaveLength(1); // close() itself
    const waits = server.requests.filter(isPoll).map((r) => r.url.searchParams.get('wait'));
    expect(waits[1]).toBe(null);
    expect(Number(waits.at(-1))).toBeGreaterThan(500);
    expect(Number(waits.at(-1))).toBeLessThan(PROXY);
  });

  it('still fails the connection when polls error again and again (3 in a row), paced, then reconnects', async () => {
    server = await hostile((req, res) => {
      if (req.method === 'POST') return void res.end('ack 0');
      const first = new URL(req.url!, 'http://x').searchParams.get('open');
      if (first) res.writeHead(200, HL).end(welcome());
      else res.writeHead(502).end('bad gateway');
    });
    const { c, log } = client(server.url, { pollInterval: 100, reconnect: { initialDelay: 5000, maxDelay: 5000 } });
    await until(() => of(log, 'reconnecting').length, 'the reconnect');
    const polls = server.requests.filter(isPoll);
    c.close();
    expect(polls.map((r) => !!r.url.searchParams.get('open'))).toEqual([true, false, false, false]);
    expect(polls[3]!.at - polls[1]!.at).toBeGreaterThanOrEqual(150); // paced by pollInterval (two waits of 100 ms)
    expect((of(log, 'error')[0]![0] as { data: unknown }).data).toBe(502);
  });

  it('fails at once when a poll errors before the connection opened', async () => {
    server = await hostile((_, res) => res.writeHead(502).end());
    const { c, log } = client(server.url, { reconnect: false });
    await until(() => c.state === 'closed', 'the stop');
    expect(server.requests).toHaveLength(1);
    expect((of(log, 'error')[0]![0] as { data: unknown }).data).toBe(502);
  });
});
