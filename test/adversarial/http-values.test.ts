// @vitest-environment node
// What a hostile server sends that ends up in a header, a URL or a number, and the POST answers
// it controls: real servers on 127.0.0.1 (node:http), the client with Node's own fetch.
import { afterEach, describe, expect, it } from 'vitest';
import { HL, SSE, client, flood, hostile, of, sleep, until, welcome } from './http-fixture';
import type { Hostile } from './http-fixture';

let server: Hostile | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});
/** A header as the client sent it: its bytes (Node hands them over as latin1), read as UTF-8. */
const utf8 = (v: string | string[] | undefined): string | undefined => (typeof v == 'string' ? Buffer.from(v, 'latin1').toString('utf8') : undefined);
const gets = (h: Hostile) => h.requests.filter((r) => r.method === 'GET');

describe('event ids beyond latin1 (5€)', () => {
  it('SSE resumes with the id UTF-8 encoded in Last-Event-ID', async () => {
    server = await hostile((_, res, h) => {
      res.writeHead(200, SSE);
      if (gets(h).length === 1) res.end('id: 5€\ndata: a\n\n');
    });
    const { c, log } = client(server.url, { transports: ['sse'] });
    await until(() => gets(server!).length >= 2, 'the resumed request', 3000);
    c.close();
    expect(utf8(gets(server)[1]!.headers['last-event-id'])).toBe('5€');
    expect(c.lastEventId).toBe('5€');
    expect(of(log, 'error')).toEqual([]);
  });

  it('long-polling carries it in the lastEventId query parameter and the header, poll after poll', async () => {
    server = await hostile((_, res, h) => {
      const n = gets(h).length;
      res.writeHead(200, SSE).end(n === 1 ? 'id: 5€\ndata: a\n\n' : n === 2 ? 'id: 6€ü\ndata: b\n\n' : ':\n');
    });
    const { c, log } = client(server.url, { protocol: 'plain', pollInterval: 50 });
    await until(() => gets(server!).length >= 3, 'three polls', 3000);
    c.close();
    const [, second, third] = gets(server);
    expect([second!.url.searchParams.get('lastEventId'), utf8(second!.headers['last-event-id'])]).toEqual(['5€', '5€']);
    expect([third!.url.searchParams.get('lastEventId'), utf8(third!.headers['last-event-id'])]).toEqual(['6€ü', '6€ü']);
    expect(of(log, 'message').map((m) => m[0])).toEqual(['a', 'b']);
  });

  it('an id no header can carry (CR, LF, NUL, a lone surrogate) sends no Last-Event-ID instead of breaking every request', async () => {
    server = await hostile((_, res) => void res.writeHead(200, SSE).end());
    for (const id of ['a\nb', 'a\rb', 'a\0b', 'x\ud800']) {
      const before = gets(server).length;
      const { c } = client(server.url, { transports: ['sse'], lastEventId: id });
      await until(() => gets(server!).length > before, `a request with ${JSON.stringify(id)}`, 3000);
      c.close();
      expect(gets(server)[before]!.headers['last-event-id']).toBe(undefined);
    }
  });

  it('an id over 1,024 bytes is not sent back (header or query), so a server cannot make every request fail with 431', async () => {
    const huge = 'x'.repeat(5000);
    server = await hostile((_, res, h) => {
      const n = gets(h).length;
      res.writeHead(200, SSE).end(n === 1 ? `id: ${huge}\ndata: a\n\n` : ':\n');
    });
    const { c, log } = client(server.url, { protocol: 'plain', pollInterval: 50 });
    await until(() => gets(server!).length >= 3, 'three polls', 3000);
    c.close();
    const [, second] = gets(server);
    expect([second!.url.searchParams.get('lastEventId'), second!.headers['last-event-id']]).toEqual([null, undefined]);
    expect(c.lastEventId).toBe(huge);
    expect(of(log, 'error')).toEqual([]);
  });
});

describe('an id-only block commits the last event id', () => {
  it('SSE: a reconnect resumes from the id of a block without data', async () => {
    server = await hostile((_, res, h) => {
      res.writeHead(200, SSE);
      if (gets(h).length === 1) res.end('id: 1\ndata: a\n\nid: 7\n\n');
    });
    const { c } = client(server.url, { transports: ['sse'] });
    await until(() => gets(server!).length >= 2, 'the reconnection', 3000);
    c.close();
    expect(gets(server)[1]!.headers['last-event-id']).toBe('7');
    expect(c.lastEventId).toBe('7');
  });

  it('long-polling: the next connection resumes from it too', async () => {
    server = await hostile((req, res, h) => {
      const n = gets(h).length;
      if (n === 1) return void res.writeHead(200, SSE).end('id: 1\ndata: a\n\nid: 9\n\n');
      if (n === 2) return void res.writeHead(500).end(); // before the connection is stable: a reconnect
      res.writeHead(200, SSE).end(':\n');
    });
    const { c } = client(server.url, { protocol: 'plain', pollInterval: 50 });
    await until(() => gets(server!).length >= 3, 'the new connection', 3000);
    c.close();
    const third = gets(server)[2]!;
    expect([third.url.searchParams.get('open'), third.url.searchParams.get('lastEventId')]).toEqual(['1', '9']);
  });
});

describe('POST answers', () => {
  it('bounds an endless answer: a typed error and a reconnect after at most 64 KiB read', async () => {
    let posts = 0;
    server = await hostile((req, res, h) => {
      if (req.method === 'POST') {
        req.resume();
        if (++posts > 1) return void res.end('ack 1');
        res.writeHead(200, { 'content-type': 'text/plain' });
        return flood(res, h, Buffer.alloc(1 << 16, 'a'));
      }
      const open = new URL(req.url!, 'http://x').searchParams.get('open');
      const t = setTimeout(() => res.writeHead(200, HL).end(open ? welcome() : ':\n'), open ? 0 : 500);
      res.once('close', () => clearTimeout(t));
    });
    const { c, log } = client(server.url);
    await until(() => c.state === 'open', 'open');
    const sent = c.sendWithAck('hi');
    await until(() => of(log, 'error').length, 'the error', 8000);
    const err = of(log, 'error')[0]![0] as { code: string; message: string };
    expect(err.code).toBe('sse-limit');
    expect(server.written.n).toBeLessThan(16 << 20);
    await sent; // resent on the next connection and acknowledged there
    c.close();
    await until(() => server!.open() === 0, 'nothing left open');
  });
});

describe('media types and numbers', () => {
  it('accepts Text/Event-Stream; charset=UTF-8 as an event stream', async () => {
    server = await hostile((_, res) => void res.writeHead(200, { 'content-type': 'Text/Event-Stream; charset=UTF-8' }).write('data: ok\n\n'));
    const { c, log } = client(server.url, { transports: ['sse'] });
    await until(() => of(log, 'message').length, 'the event', 3000);
    c.close();
    expect(of(log, 'error')).toEqual([]);
  });

  const hints: [string, string, (d: number) => boolean][] = [
    ['garbage', 'soon', (d) => d === 500],
    ['a past date', 'Thu, 01 Jan 1970 00:00:00 GMT', (d) => d === 500],
    ['400 digits', '9'.repeat(400), (d) => d === 600000],
    ['a negative number', '-5', (d) => d === 500],
  ];
  for (const [what, value, ok] of hints) {
    it(`clamps a Retry-After of ${what} (NaN-safe, at most 10 minutes)`, async () => {
      server = await hostile((_, res) => res.writeHead(503, { 'retry-after': value }).end());
      const { c, log } = client(server.url, { transports: ['sse'] });
      await until(() => of(log, 'reconnecting').length, 'the retry', 3000);
      c.close();
      const d = (of(log, 'reconnecting')[0]![0] as { delay: number }).delay;
      expect(Number.isFinite(d) && ok(d), `delay ${d}`).toBe(true);
    });
  }

  it('clamps a retry: field of 400 digits to ten minutes', async () => {
    server = await hostile((_, res) => void res.writeHead(200, SSE).end(`retry: ${'9'.repeat(400)}\ndata: a\n\n`));
    const { c, log } = client(server.url, { transports: ['sse'] });
    await until(() => of(log, 'reconnecting').length, 'the retry', 3000);
    c.close();
    expect((of(log, 'reconnecting')[0]![0] as { delay: number }).delay).toBe(600000);
  });

  it('closes everything it opened: no request left open after close()', async () => {
    server = await hostile((req, res) => {
      if (req.method === 'POST') return; // never answered
      res.writeHead(200, HL).write(welcome()); // a stream held open
    });
    const { c } = client(server.url, { transports: ['sse'] });
    await until(() => c.state === 'open', 'open');
    c.send('x');
    await until(() => server!.open() === 2, 'the stream and the POST in flight');
    c.close();
    await until(() => server!.open() === 0, 'both requests ended', 2000);
    await sleep(50);
  });
});

describe('loops a server drives', () => {
  const loops: [string, Parameters<typeof hostile>[0]][] = [
    ['a stream that ends at once', (_, res) => void res.writeHead(200, SSE).end('data: a\n\n')],
    ['an immediate 500', (_, res) => void res.writeHead(500).end()],
    ['an HTML page instead of a stream', (_, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>')],
  ];
  for (const [what, handler] of loops) {
    it(`SSE against ${what} reconnects with backoff, not in a loop`, async () => {
      server = await hostile(handler);
      const { c } = client(server.url, { transports: ['sse'], reconnect: { initialDelay: 100, maxDelay: 400 } });
      await sleep(2000);
      c.close();
      // Full-jitter backoff averaging at most 200 ms: about 10 in 2 s.
      expect(server.requests.length).toBeLessThanOrEqual(40);
      expect(server.requests.length).toBeGreaterThanOrEqual(2);
      await until(() => server!.open() === 0, 'nothing left open');
    });
  }
});
