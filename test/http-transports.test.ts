// @vitest-environment node
// SSE, long-polling, POST and fallback against msw handlers, with real timers and short delays:
// every wait is for an event, bounded by `until`.
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from '../src/index';
import type { Connection, Options } from '../src/index';
import { FakeWebSocket, resetSockets, sockets } from './fake-websocket';
import { ofType, record } from './helpers';

const BASE = 'http://127.0.0.1:9/live';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  resetSockets();
  vi.unstubAllGlobals();
});
afterAll(() => server.close());

const until = async (cond: () => unknown, what: string, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A response body the test writes to as it goes. */
const stream = () => {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
  const enc = new TextEncoder();
  return { body, write: (s: string) => ctl.enqueue(enc.encode(s)), end: () => ctl.close() };
};
const SSE_HEADERS = { 'content-type': 'text/event-stream' };
const HL = { ...SSE_HEADERS, heartline: '1' };
const welcome = (w: Record<string, unknown> = {}) =>
  `event: heartline\ndata: welcome ${JSON.stringify({ v: 1, session: 's1', ack: 0, resumed: false, ...w })}\n\n`;

const sse = (o: Options = {}): Connection =>
  connect(BASE, { transports: ['sse'], heartbeat: { interval: 5000, timeout: 2000 }, reconnect: { initialDelay: 5, maxDelay: 20 }, ...o });

describe('SSE over fetch', () => {
  it('opens against a plain SSE server at once, reads events and resumes with Last-Event-ID', async () => {
    const requests: Request[] = [];
    const bodies: ReturnType<typeof stream>[] = [];
    server.use(
      http.get(BASE, ({ request }) => {
        requests.push(request);
        const s = stream();
        bodies.push(s);
        return new HttpResponse(s.body, { headers: SSE_HEADERS });
      }),
    );
    const c = sse({ auth: () => 'tok', headers: { 'x-app': '1' } });
    const got: unknown[] = [];
    c.on('message', (d, m) => got.push([d, m.id, m.event]));
    await until(() => c.state === 'open', 'open');
    expect(c.transport).toBe('sse');
    const h = requests[0]!.headers;
    expect([h.get('accept'), h.get('authorization'), h.get('x-app'), h.get('last-event-id')]).toEqual(['text/event-stream', 'Bearer tok', '1', null]);
    expect(new URL(requests[0]!.url).searchParams.get('heartline')).toBe('1');
    bodies[0]!.write('id: 1\ndata: one\n\n: keep-alive\n\nevent: chat\ndata: two\ndata: lines\n\n');
    await until(() => got.length === 2, 'two events');
    expect(got).toEqual([
      ['one', '1', 'message'],
      ['two\nlines', '1', 'chat'],
    ]);
    bodies[0]!.end();
    await until(() => requests.length === 2, 'the reconnection');
    expect(requests[1]!.headers.get('last-event-id')).toBe('1');
    c.close();
  });

  it('speaks the protocol when the server announces it: welcome, then acknowledged POSTs', async () => {
    const posts: { url: string; body: string }[] = [];
    let body!: ReturnType<typeof stream>;
    server.use(
      http.get(BASE, () => {
        body = stream();
        body.write(welcome({ heartbeat: 2000 }));
        return new HttpResponse(body.body, { headers: HL });
      }),
      http.post(BASE, async ({ request }) => {
        const text = new TextDecoder().decode(await request.arrayBuffer());
        posts.push({ url: request.url, body: text });
        return new HttpResponse(`ack ${new URL(request.url).searchParams.get('seq') ?? 0}`);
      }),
    );
    const c = sse();
    await until(() => c.state === 'open', 'open');
    await c.sendWithAck('héllo');
    expect(posts[0]!.body).toBe('héllo');
    expect([...new URL(posts[0]!.url).searchParams].filter(([k]) => k !== 'heartline')).toEqual([
      ['session', 's1'],
      ['seq', '1'],
    ]);
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    body.write('event: heartline\ndata: ack 1\n\nid: 5\ndata: pushed\n\n');
    await until(() => got.length === 1, 'a pushed event');
    expect(c.lastEventId).toBe('5');
    c.close();
  });

  it('uploads over POST to endpoints.upload in chunks whose answers are frames: header line, LF, raw bytes', async () => {
    const held: Buffer[] = [];
    const offsets: number[] = [];
    server.use(
      http.get(BASE, () => {
        const events = stream();
        events.write(welcome({ heartbeat: 2000 }));
        return new HttpResponse(events.body, { headers: HL });
      }),
      // Only this endpoint answers POSTs: an upload frame sent to BASE would be an unhandled request (an error).
      http.post(`${BASE}/files`, async ({ request }) => {
        const body = Buffer.from(await request.arrayBuffer());
        const nl = body.indexOf(10);
        const head = body.subarray(0, nl < 0 ? body.length : nl).toString().split(' ');
        const id = head[1];
        if (head[0] === 'up.open') return new HttpResponse(`up.offset ${id} 0`);
        expect(head[0]).toBe('up.chunk');
        offsets.push(+head[2]!);
        held.push(body.subarray(nl + 1));
        const n = Buffer.concat(held).length;
        return new HttpResponse(n < 2500 ? `up.ack ${id} ${n}` : `up.done ${id} {"id":"${id}","size":${n}}`);
      }),
    );
    const c = sse({ endpoints: { upload: `${BASE}/files` } });
    await until(() => c.state === 'open', 'open');
    const data = Uint8Array.from({ length: 2500 }, (_, i) => i & 255);
    const r = await c.upload(new Blob([data]), { chunkSize: 1000 });
    expect(r.size).toBe(2500);
    expect(offsets).toEqual([0, 1000, 2000]);
    expect(Buffer.concat(held).equals(Buffer.from(data))).toBe(true);
    c.close();
  });

  it('fails over to the next transport when a proxy buffers the announced stream', async () => {
    let polls = 0;
    server.use(
      http.get(BASE, ({ request }) => {
        if (new URL(request.url).searchParams.get('poll')) {
          // A real server holds a poll; answering at once would make the client poll in a tight loop.
          if (++polls > 1) return new HttpResponse(null, { status: 204 });
          return new HttpResponse(welcome(), { headers: HL });
        }
        return new HttpResponse(stream().body, { headers: HL }); // header, but the welcome never comes
      }),
    );
    const c = sse({ transports: ['sse', 'longpoll'], heartbeat: { interval: 5000, timeout: 300 } });
    const log = record(c);
    await until(() => ofType(log, 'open').length, 'an open', 3000);
    expect(ofType(log, 'open')[0]![0].transport).toBe('longpoll');
    expect(ofType(log, 'state').map(([, i]) => i.reason)).toContain('fallback');
    c.close();
  });

  const statuses: [string, number, Record<string, string>, (log: ReturnType<typeof record>, c: Connection) => void][] = [
    ['204 stops', 204, {}, (_, c) => expect(c.state).toBe('closed')],
    ['404 stops', 404, {}, (_, c) => expect(c.state).toBe('closed')],
    ['410 stops', 410, {}, (_, c) => expect(c.state).toBe('closed')],
    ['503 with Retry-After waits at least that long', 503, { 'retry-after': '2' }, (log) => expect(ofType(log, 'reconnecting')[0]![0].delay).toBeGreaterThanOrEqual(2000)],
    ['429 with an HTTP date waits until then', 429, { 'retry-after': new Date(Date.now() + 60000).toUTCString() }, (log) => expect(ofType(log, 'reconnecting')[0]![0].delay).toBeGreaterThan(50000)],
    ['an absurd Retry-After is clamped to ten minutes', 503, { 'retry-after': '999999999' }, (log) => expect(ofType(log, 'reconnecting')[0]![0].delay).toBe(600000)],
    ['500 retries with backoff', 500, {}, (log) => expect(ofType(log, 'reconnecting')[0]![0].delay).toBeLessThanOrEqual(5)],
  ];
  for (const [what, status, headers, check] of statuses) {
    it(`handles HTTP ${what}`, async () => {
      server.use(http.get(BASE, () => new HttpResponse(null, { status, headers })));
      const c = sse();
      const log = record(c);
      await until(() => ofType(log, 'close').length > 0, 'the failed attempt');
      check(log, c);
      const [err] = ofType(log, 'error').at(-1) ?? [];
      expect(err?.data).toBe(status);
      c.close();
    });
  }

  it('refreshes credentials once on 401, then stops', async () => {
    let calls = 0;
    server.use(http.get(BASE, () => new HttpResponse(null, { status: 401 })));
    const c = sse({ auth: () => `t${++calls}` });
    await until(() => c.state === 'closed', 'the stop');
    expect(calls).toBe(2);
  });

  it('reports 200 with the wrong content type as an error and retries', async () => {
    let n = 0;
    server.use(http.get(BASE, () => (++n === 1 ? HttpResponse.text('<html>') : new HttpResponse(stream().body, { headers: SSE_HEADERS }))));
    const c = sse();
    const log = record(c);
    await until(() => c.state === 'open', 'the second attempt');
    expect(ofType(log, 'error')[0]![0].message).toMatch(/HTTP 200 text\/plain/);
    c.close();
  });

  it('turns an endless line into a typed error and a reconnect instead of unbounded memory', async () => {
    let n = 0;
    server.use(
      http.get(BASE, () => {
        const s = stream();
        if (++n === 1) s.write('data: ' + 'x'.repeat(5000));
        return new HttpResponse(s.body, { headers: SSE_HEADERS });
      }),
    );
    const c = sse({ maxEventSize: 1024 });
    const log = record(c);
    await until(() => n === 2, 'the reconnection');
    expect(ofType(log, 'error')[0]![0].code).toBe('sse-limit');
    c.close();
  });
});

describe('long-polling', () => {
  it('rejects a pollInterval that is not a number of ms >= 0', () => {
    for (const v of [-1, NaN, '5', Infinity]) {
      expect(() => connect(BASE, { transports: ['longpoll'], pollInterval: v as number, lazy: true })).toThrow(/pollInterval/);
    }
    connect(BASE, { transports: ['longpoll'], pollInterval: 0, lazy: true }).close();
  });

  it('opens with open=1, resumes each poll from the last event id and keeps its session', async () => {
    const urls: URL[] = [];
    server.use(
      http.get(BASE, ({ request }) => {
        const u = new URL(request.url);
        urls.push(u);
        if (u.searchParams.get('open')) return new HttpResponse(welcome() + 'id: 1\ndata: a\n\n', { headers: HL });
        if (urls.length === 2) return new HttpResponse('id: 2\ndata: b\n\n', { headers: HL });
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const c = connect(BASE, { transports: ['longpoll'], reconnect: { initialDelay: 5 } });
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    await until(() => c.state === 'closed', 'the 204 stop');
    expect(got).toEqual(['a', 'b']);
    expect(urls.map((u) => [u.searchParams.get('open'), u.searchParams.get('session'), u.searchParams.get('lastEventId')])).toEqual([
      ['1', null, null],
      [null, 's1', '1'],
      [null, 's1', '2'],
    ]);
  });

  it('reconnects with a new session when the server forgot the old one (409)', async () => {
    let n = 0;
    server.use(
      http.get(BASE, ({ request }) => {
        const u = new URL(request.url);
        n++;
        if (u.searchParams.get('open')) return new HttpResponse(welcome({ session: `s${n}` }), { headers: HL });
        return new HttpResponse(null, { status: n < 4 ? 409 : 204 });
      }),
    );
    const c = connect(BASE, { transports: ['longpoll'], reconnect: { initialDelay: 5 } });
    const log = record(c);
    await until(() => c.state === 'closed', 'the stop');
    expect(ofType(log, 'close').slice(0, 1).map(([i]) => i.code)).toEqual([4409]);
  });
});

describe('fallback', () => {
  it('moves to SSE at once when the WebSocket cannot open, without a backoff wait', async () => {
    class Refused extends FakeWebSocket {
      constructor(url: string, p?: string | string[]) {
        super(url, p);
        setTimeout(() => this.serverClose(1006, '', false), 1);
      }
    }
    server.use(http.get(BASE, () => new HttpResponse(stream().body, { headers: SSE_HEADERS })));
    const c = connect(BASE, { WebSocket: Refused as never, reconnect: { initialDelay: 60000, maxDelay: 60000 } });
    const log = record(c);
    await until(() => c.state === 'open', 'open over SSE');
    expect(c.transport).toBe('sse');
    expect(ofType(log, 'reconnecting')).toHaveLength(0);
    expect(ofType(log, 'state').map(([s, i]) => `${s}:${i.reason}`)).toEqual(['reconnecting:fallback', 'open:open']);
    c.close();
  });

  it('remembers the transport that worked for the page session, so the next connection skips the broken one', async () => {
    const memory = new Map<string, string>();
    vi.stubGlobal('sessionStorage', { getItem: (k: string) => memory.get(k) ?? null, setItem: (k: string, v: string) => memory.set(k, v) });
    class Refused extends FakeWebSocket {
      constructor(url: string, p?: string | string[]) {
        super(url, p);
        setTimeout(() => this.serverClose(1006, '', false), 1);
      }
    }
    server.use(http.get(BASE, () => new HttpResponse(stream().body, { headers: SSE_HEADERS })));
    const first = connect(BASE, { WebSocket: Refused as never });
    await until(() => first.transport === 'sse', 'the fallback');
    first.close();
    resetSockets();
    const second = connect(BASE, { WebSocket: Refused as never });
    const log = record(second);
    await until(() => second.state === 'open', 'the second connection');
    expect(second.transport).toBe('sse');
    expect(ofType(log, 'state').map(([, i]) => i.reason)).not.toContain('fallback');
    second.close();
  });

  it('checks WebSocket in the background after upgradeAfter and moves back when it works, losing and doubling nothing', async () => {
    // The first WebSocket is refused; the SSE fallback serves events 1-2. The background check is
    // a side socket; only its `welcome` makes the client drop SSE and reconnect over WebSocket with
    // the session and the last event id, and the server (this test) replays what came after it.
    let made = 0;
    const hellos: Record<string, unknown>[] = [];
    class Blocked extends FakeWebSocket {
      constructor(url: string, p?: string | string[]) {
        super(url, p);
        const n = ++made;
        setTimeout(() => {
          if (n === 1 || n === 2) return this.serverClose(1006, '', false); // blocked, and still blocked at the first check
          this.open();
          this.receive('welcome {"v":1}');
        }, 1);
      }
      override send(d: unknown): void {
        super.send(d);
        const text = String(d);
        if (!text.startsWith('hello ')) return;
        hellos.push(JSON.parse(text.slice(6)));
        setTimeout(() => {
          this.receive('ready {"session":"s1","ack":1,"resumed":true}');
          this.receive('msg 3 -\nthree');
        }, 1);
      }
    }
    const posts: string[] = [];
    let body!: ReturnType<typeof stream>;
    server.use(
      http.get(BASE, () => {
        body = stream();
        body.write(welcome({ heartbeat: 2000 }) + 'id: 1\ndata: one\n\nid: 2\ndata: two\n\n');
        return new HttpResponse(body.body, { headers: HL });
      }),
      http.post(BASE, async ({ request }) => {
        const text = await request.text();
        const seq = new URL(request.url).searchParams.get('seq');
        if (seq === null) body.write(`event: heartline\ndata: ${text.replace('ping', 'pong')}\n\n`);
        else posts.push(text);
        return new HttpResponse(seq === null ? '' : `ack ${seq}`);
      }),
    );
    const c = connect(BASE, { WebSocket: Blocked as never, upgradeAfter: 150, heartbeat: { interval: 50, timeout: 1000 } });
    const log = record(c);
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    await until(() => got.length === 2, 'events over the SSE fallback');
    expect(c.transport).toBe('sse');
    await c.sendWithAck('sent over SSE');
    await until(() => made === 2, 'the first background check');
    await until(() => sockets.filter((s) => s.readyState === 3).length === 2, 'the failed check to end');
    expect(c.transport).toBe('sse'); // a failed check leaves the fallback alone
    await until(() => c.transport === 'websocket' && got.length === 3, 'the move back', 3000);
    expect(made).toBe(4); // the refused one, the failed check, the good check, the real connection
    expect(got).toEqual(['one', 'two', 'three']);
    expect(posts).toEqual(['sent over SSE']);
    expect(hellos).toEqual([{ v: 1, session: 's1', lastEventId: '2' }]);
    expect(ofType(log, 'state').map(([s, i]) => `${s}:${i.reason}`)).toEqual([
      'reconnecting:fallback',
      'open:open',
      'reconnecting:upgrade',
      'open:open',
    ]);
    c.close();
  });

  it('uses native EventSource only where fetch cannot stream, sending the last event id as a query parameter', async () => {
    // A runtime without fetch: the EventSource (the eventsource package) is handed msw's fetch itself.
    const { EventSource: Polyfill } = await import('eventsource');
    const realFetch = globalThis.fetch;
    class EventSource extends Polyfill {
      constructor(url: string, init?: { withCredentials?: boolean }) {
        super(url, { ...init, fetch: realFetch });
      }
    }
    vi.stubGlobal('fetch', undefined);
    const urls: URL[] = [];
    server.use(
      http.get(BASE, ({ request }) => {
        urls.push(new URL(request.url));
        return new HttpResponse(`id: ${urls.length + 2}\ndata: m${urls.length}\n\n`, { headers: SSE_HEADERS });
      }),
    );
    const c = connect(BASE, { transports: ['sse'], EventSource: EventSource as never, lastEventId: '2', reconnect: { initialDelay: 5, maxDelay: 5 } });
    const got: unknown[] = [];
    c.on('message', (d, m) => got.push([d, m.id]));
    await until(() => got.length >= 2, 'two streams');
    c.close();
    expect(got.slice(0, 2)).toEqual([
      ['m1', '3'],
      ['m2', '4'],
    ]);
    expect(urls.slice(0, 2).map((u) => u.searchParams.get('lastEventId'))).toEqual(['2', '3']);
    expect(urls[0]!.searchParams.get('heartline')).toBe('1');
  });

  it('never throws out of its handlers on random bytes in the stream', async () => {
    let seed = 3;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let rounds = 0;
    server.use(
      http.get(BASE, () => {
        rounds++;
        const bytes = new Uint8Array(2000).map(() => [10, 13, 58, 32, 100, 97, 116, 105, 0xe2, 0x82, 0xff][rnd(11)]!);
        return new HttpResponse(bytes, { headers: HL });
      }),
    );
    const c = sse({ maxEventSize: 64, heartbeat: { interval: 5000, timeout: 50 } });
    const log = record(c);
    await until(() => rounds >= 5, 'five streams');
    c.close();
    for (const [e] of ofType(log, 'error')) expect(['sse-limit', 'malformed', 'connect']).toContain(e.code);
  });
});
