// @vitest-environment node
// Hooks that never settle and one address opening too much: the timeouts on the application's
// hooks (authenticate, streams, onMessage, onUpload), the per-address connection limit and the
// server-wide count of unfinished uploads, on a real server on 127.0.0.1 (small limits, short tests).
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, HookTimeout, type ErrorContext } from '../../src/server/index.js';
import { raw, rawReady, start, until, type Running } from './helpers.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

const never = (): Promise<never> => new Promise(() => {});
const sse = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: AbortSignal.timeout(4000) });

describe('hook timeouts', () => {
  it('an authenticate that never settles: close 1013 / 503 + Retry-After after authTimeout, reported as a HookTimeout', async () => {
    const errors: [unknown, ErrorContext][] = [];
    running = await start({ authenticate: never, limits: { authTimeout: 200 }, onError: (e, c) => void errors.push([e, c]) });
    const r = await raw(running.url);
    await r.frame(/^welcome /);
    r.ws.send('hello {"v":1}');
    expect(await Promise.race([r.closed, new Promise((res) => setTimeout(() => res('still open after 3 s'), 3000))])).toBe(1013);
    const res = await sse(`${running.url}?heartline=1`);
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '5']);
    expect(errors.length).toBe(2);
    expect(errors[0]![0]).toBeInstanceOf(HookTimeout);
    expect(errors[0]![1]).toEqual({ where: 'authenticate' });
    expect((await running.live.stats()).sessions).toBe(0);
  });

  it('a streams hook that never settles fails the connection (1011 / 500, both retried), after authTimeout', async () => {
    const errors: unknown[] = [];
    running = await start({ streams: never, limits: { authTimeout: 200 }, onError: (e) => void errors.push(e) });
    const r = await raw(running.url);
    await r.frame(/^welcome /);
    r.ws.send('hello {"v":1}');
    expect(await Promise.race([r.closed, new Promise((res) => setTimeout(() => res('still open after 3 s'), 3000))])).toBe(1011);
    expect((await sse(`${running.url}?heartline=1`)).status).toBe(500);
    expect(errors.filter((e) => e instanceof HookTimeout).length).toBe(2);
  });

  it('an onMessage that never settles: not acknowledged, reported, the connection survives and the resent message is delivered', async () => {
    const errors: [unknown, ErrorContext][] = [];
    let calls = 0;
    running = await start({
      limits: { messageTimeout: 200 },
      onMessage: () => (++calls === 1 ? never() : undefined),
      onError: (e, c) => void errors.push([e, c]),
    });
    const r = await rawReady(running.url);
    r.ws.send('msg 1\nfirst');
    await until(() => errors.length, 3000, 'the timeout to be reported');
    expect(errors[0]![0]).toBeInstanceOf(HookTimeout);
    expect(errors[0]![1]).toEqual({ where: 'message', session: r.session });
    r.ws.send('ping 7');
    await r.frame(/^pong 7$/);
    expect(r.frames.filter((f) => f.startsWith('ack'))).toEqual([]);
    r.ws.send('msg 1\nfirst again'); // what the client does after its next reconnect
    await r.frame(/^ack 1$/, 3000);
    expect(calls).toBe(2);
    // Over POST the same: the request is answered with the ack below SEQ, not held forever.
    calls = 0;
    const post = await fetch(`${running.url}?heartline=1&session=${r.session}&seq=2`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(3000) });
    expect([post.status, await post.text()]).toEqual([200, 'ack 1']);
    r.ws.close();
  });

  it('an onUpload that never settles fails the upload with up.error 504 after uploadTimeout', async () => {
    const errors: [unknown, ErrorContext][] = [];
    running = await start({ onUpload: never, limits: { uploadTimeout: 200 }, onError: (e, c) => void errors.push([e, c]) });
    const r = await rawReady(running.url);
    r.ws.send('up.open u1\n{"size":3}');
    await r.frame(/^up\.offset u1 0$/);
    r.ws.send(Buffer.from('up.chunk u1 0 -\nabc'));
    await r.frame(/^up\.error u1 504 /, 3000);
    expect(errors[0]![0]).toBeInstanceOf(HookTimeout);
    expect(errors[0]![1]).toEqual({ where: 'upload', session: r.session });
    expect((await running.live.stats()).uploads).toBe(0);
    r.ws.close();
  });

  it('timeouts leave no timer behind once hooks settle in time', async () => {
    running = await start({ authenticate: () => 'u', onMessage: async () => {}, limits: { messageTimeout: 60000, authTimeout: 60000 } });
    const base = (await running.live.stats()).timers;
    const r = await rawReady(running.url);
    for (let i = 1; i <= 20; i += 1) r.ws.send(`msg ${i}\n.`);
    await r.frame(/^ack 20$/);
    r.ws.close();
    await until(async () => (await running!.live.stats()).timers === base, 5000, 'the timers to be cleared');
  });
});

describe('per-address limit', () => {
  it('maxConnectionsPerAddress: WebSockets and HTTP requests past it from one address get 429 + Retry-After; others still connect', async () => {
    const errors: unknown[] = [];
    running = await start({ limits: { maxConnectionsPerAddress: 3 }, onError: (e) => void errors.push(e) });
    const open = await Promise.all([rawReady(running.url), rawReady(running.url), raw(running.url)]);
    await expect(raw(running.url)).rejects.toMatchObject({ status: 429 });
    const refused = await sse(`${running.url}?heartline=1`);
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '5']);
    expect(errors.length).toBe(1); // reported once, not per refusal
    open[2]!.ws.close();
    await open[2]!.closed;
    await until(async () => {
      const r = await raw(running!.url).catch(() => null);
      r?.ws.close();
      return r;
    }, 3000, 'a slot to be free again');
    for (const o of open) o.ws.close();
  });

  it('addressHeader must be a header name; the new limits must be positive numbers', () => {
    expect(() => createServer({ addressHeader: 'x-forwarded-for: 1' })).toThrow(/addressHeader/);
    expect(() => createServer({ limits: { authTimeout: 0 } })).toThrow(/authTimeout/);
    expect(() => createServer({ limits: { maxConnectionsPerAddress: -1 } })).toThrow(/maxConnectionsPerAddress/);
  });

  it('addressHeader: the address is taken from a trusted proxy header (its last entry), off by default', async () => {
    running = await start({ limits: { maxConnectionsPerAddress: 1 }, addressHeader: 'x-forwarded-for' });
    const a = await rawReady(running.url, {}, { 'X-Forwarded-For': '10.0.0.9, 203.0.113.1' });
    const b = await rawReady(running.url, {}, { 'X-Forwarded-For': '203.0.113.2' }); // another client
    await expect(raw(running.url, { 'X-Forwarded-For': '10.0.0.8, 203.0.113.1' })).rejects.toMatchObject({ status: 429 });
    a.ws.close();
    b.ws.close();
    await running.stop();
    running = await start({ limits: { maxConnectionsPerAddress: 1 } }); // no header trusted: all from 127.0.0.1
    const c = await rawReady(running.url, {}, { 'X-Forwarded-For': '203.0.113.3' });
    await expect(raw(running.url, { 'X-Forwarded-For': '203.0.113.4' })).rejects.toMatchObject({ status: 429 });
    c.ws.close();
  });
});

describe('uploads held by the server', () => {
  it('maxUploads: an upload past the server-wide count of unfinished ones gets up.error 429', async () => {
    running = await start({ onUpload: () => {}, limits: { maxUploads: 2 } });
    const a = await rawReady(running.url);
    const b = await rawReady(running.url);
    a.ws.send('up.open u1\n{"size":10}');
    a.ws.send('up.open u2\n{"size":10}');
    await a.frame(/^up\.offset u2 0$/);
    b.ws.send('up.open u3\n{"size":10}');
    await b.frame(/^up\.error u3 429 /);
    a.ws.send('up.abort u1');
    b.ws.send('up.open u4\n{"size":10}');
    await b.frame(/^up\.offset u4 0$/);
    a.ws.close();
    b.ws.close();
  });
});
