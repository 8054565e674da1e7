// @vitest-environment node
// The in-memory engines and frame helpers as units; heartbeats, streams and targeted sends
// against a real server.
import { afterEach, describe, expect, it } from 'vitest';
import { chunkCheck } from '../../src/server/frames.js';
import { createServer, MemoryLog, MemorySessions, type ServerOptions } from '../../src/server/index.js';
import { raw, rawReady, start, until, type Running } from './helpers.js';

const ALL = { streams: new Set(['a', 'b']), session: 's1' };

describe('MemoryLog', () => {
  it('names events EPOCH-N and replays what follows an id, filtered by stream and session', () => {
    const log = new MemoryLog({ epoch: 'E' });
    const a1 = log.append({ stream: 'a', session: null, event: null, data: '1' });
    log.append({ stream: 'c', session: null, event: null, data: 'other stream' });
    log.append({ stream: null, session: 's1', event: 'x', data: 'mine' });
    log.append({ stream: null, session: 's2', event: null, data: 'not mine' });
    log.append({ stream: 'b', session: null, event: null, data: '2' });
    expect(a1.id).toBe('E-1');
    const r = log.since('E-1', ALL, Infinity);
    expect([r.resumed, r.events.map((e) => e.data)]).toEqual([true, ['mine', '2']]);
    expect(log.since('E-5', ALL, Infinity)).toEqual({ resumed: true, events: [] });
    expect(log.since('E-0', ALL, Infinity).events.map((e) => e.data)).toEqual(['1', 'mine', '2']);
  });

  it('answers resumed:false for no id, another epoch, an id past its end or older than it holds', () => {
    const log = new MemoryLog({ epoch: 'E', maxEvents: 3 });
    for (let i = 1; i <= 5; i += 1) log.append({ stream: 'a', session: null, event: null, data: String(i) });
    for (const id of ['', 'F-4', 'E-6', 'E-1', 'E-x', '4', 'E-04']) expect(log.since(id, ALL, Infinity).resumed).toBe(false);
    expect(log.since('E-2', ALL, Infinity).events.map((e) => e.data)).toEqual(['3', '4', '5']);
    expect(log.size()).toBe(3);
  });

  it('drops events older than maxAge; a random epoch differs between logs', async () => {
    const log = new MemoryLog({ maxAge: 30 });
    log.append({ stream: 'a', session: null, event: null, data: '1' });
    await new Promise((r) => setTimeout(r, 60));
    expect(log.size()).toBe(0);
    expect(log.since(`${log.epoch}-0`, ALL, Infinity).resumed).toBe(false); // event 1 is gone
    expect(log.since(`${log.epoch}-1`, ALL, Infinity)).toEqual({ resumed: true, events: [] }); // nothing lost
    expect(new MemoryLog().epoch).not.toBe(new MemoryLog().epoch);
    expect(log.epoch).toMatch(/^[A-Za-z0-9_]+$/);
  });
});

describe('createServer options', () => {
  it('throws a TypeError naming the invalid option', () => {
    const bad: [unknown, RegExp][] = [
      [{ onMessage: 'x' }, /onMessage must be a function/],
      [{ authenticate: 1 }, /authenticate must be a function/],
      [{ origins: 'https://a.example' }, /origins must be/],
      [{ origins: [1] }, /origins must be/],
      [{ heartbeat: 5 }, /heartbeat must be/],
      [{ heartbeat: '100' }, /heartbeat must be/],
      [{ path: 'live' }, /path must start/],
      [{ path: '/live?x=1' }, /path must start/],
      [{ limits: { maxSessions: 0 } }, /limits.maxSessions must be a positive number/],
      [{ limits: { maxSessions: Infinity } }, /limits.maxSessions must be a positive number/],
      [{ limits: { maxSesions: 5 } }, /unknown limit maxSesions/],
    ];
    for (const [options, message] of bad) expect(() => createServer(options as ServerOptions)).toThrow(message);
    expect(() => createServer(null as unknown as ServerOptions)).toThrow(TypeError);
  });
});

describe('MemorySessions', () => {
  it('sweeps sessions seen before the cutoff unless kept', () => {
    const s = new MemorySessions();
    s.set({ id: 'old', last: 0, streams: [], user: null, seen: 10 });
    s.set({ id: 'kept', last: 0, streams: [], user: null, seen: 10 });
    s.set({ id: 'new', last: 0, streams: [], user: null, seen: 100 });
    expect(s.sweep(50, (id) => id === 'kept')).toEqual(['old']);
    expect(s.size()).toBe(2);
  });
});

describe('chunkCheck', () => {
  it('matches PROTOCOL.md section 7', () => {
    expect(chunkCheck(new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]))).toBe('0000000300000004');
    expect(chunkCheck(new Uint8Array(0))).toBe('0000000000000000');
    expect(chunkCheck(new Uint8Array([1, 0, 0, 0, 5]))).toBe('0000000600000007');
    expect(chunkCheck(Buffer.from([9, 1, 0, 0, 0]).subarray(1))).toBe('0000000100000001'); // unaligned
  });
});

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('heartbeats', () => {
  it('over WebSocket: announced in welcome and ready, pings sent, a peer silent for 2.5 intervals dropped', async () => {
    running = await start({ heartbeat: 100 });
    const r = await rawReady(running.url);
    expect(JSON.parse(r.frames[0]!.slice(8))).toEqual({ v: 1, heartbeat: 100 });
    expect(JSON.parse(r.frames[1]!.slice(6))).toMatchObject({ heartbeat: 100, resumed: false, ack: 0 });
    await r.frame(/^ping 1$/);
    expect(await r.closed).toBe(1006); // it never answered: terminated, no close frame
    expect((await running.live.stats()).connections.websocket).toBe(0);
  });

  it('a WebSocket peer that answers its pings stays', async () => {
    running = await start({ heartbeat: 100 });
    const r = await rawReady(running.url);
    r.ws.on('message', (d) => String(d).startsWith('ping ') && r.ws.send(`pong ${String(d).slice(5)}`));
    await r.frame(/^ping 6$/, 5000);
    expect(r.ws.readyState).toBe(r.ws.OPEN);
    r.ws.close();
  });

  it('over SSE: heartbeat in welcome, then comment lines', async () => {
    running = await start({ heartbeat: 100 });
    const res = await fetch(`${running.url}?heartline=1`, { headers: { Accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    let text = '';
    while (!/\n:\n\n:\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^event: heartline\ndata: welcome \{"v":1,"session":"[\w-]+","ack":0,"resumed":false,"heartbeat":100\}\n\n/);
    await reader.cancel();
  });
});

describe('streams and sessions', () => {
  it('a session receives its streams and what is sent to it alone, nothing else', async () => {
    running = await start({ streams: (_user, req) => [new URL(req.url, 'http://x').searchParams.get('room') ?? 'none'] });
    const red = await rawReady(`${running.url}?room=red`);
    const blue = await rawReady(`${running.url}?room=blue`);
    await running.live.publish('red', 'to red');
    await running.live.publish('blue', 'to blue', { event: 'note' });
    await running.live.send(red.session, 'only red');
    expect(await running.live.send('nobody', 'x')).toBeNull();
    await until(() => red.frames.length >= 4 && blue.frames.length >= 3, 5000, 'the events');
    const ev = (r: typeof red) => r.frames.filter((f) => /^msg /.test(f)).map((f) => f.replace(/^msg [^-]+-/, 'msg '));
    expect(ev(red)).toEqual(['msg 1 -\nto red', 'msg 3 -\nonly red']);
    expect(ev(blue)).toEqual(['msg 2 note\nto blue']);
  });

  it('one connection per session: a newer one supersedes the older (closed 1000), which is no longer written to', async () => {
    running = await start();
    const first = await rawReady(running.url);
    const second = await rawReady(running.url, { session: first.session });
    expect(second.session).toBe(first.session);
    expect(await first.closed).toBe(1000);
    await running.live.publish('default', 'after');
    await second.frame(/^msg .*\nafter$/);
    expect(first.frames.some((f) => f.endsWith('after'))).toBe(false);
    expect((await running.live.stats()).connections.websocket).toBe(1);
  });

  it('close() ends WebSockets with 1001 and SSE streams with a close frame, and holds nothing after', async () => {
    running = await start();
    const ws = await rawReady(running.url);
    const res = await fetch(`${running.url}?heartline=1`, { headers: { Accept: 'text/event-stream' } });
    await until(async () => (await running!.live.stats()).connections.sse === 1, 5000, 'the stream');
    await running.live.close();
    expect(await ws.closed).toBe(1001);
    expect(await res.text()).toMatch(/event: heartline\ndata: close 1001 server%20closing\n\n$/);
    expect(await running.live.stats()).toMatchObject({ connections: { websocket: 0, sse: 0, longpoll: 0 }, sessions: 0, timers: 0 });
    await expect(running.live.publish('default', 'x')).rejects.toThrow(/closed/);
  });

  it('an engine that fails: 1011 over WebSocket, 500 over HTTP, reported, the server goes on', async () => {
    const errors: string[] = [];
    const log = new MemoryLog();
    let broken = true;
    const since = log.since.bind(log);
    log.since = (...args) => {
      if (broken) throw new Error('log down');
      return since(...args);
    };
    running = await start({ log, onError: (_e, ctx) => void errors.push(ctx.where) });
    const r = await raw(running.url);
    await r.frame(/^welcome /);
    r.ws.send('hello {"v":1}');
    expect(await r.closed).toBe(1011);
    const poll = await fetch(`${running.url}?heartline=1&poll=1&open=1`);
    expect(poll.status).toBe(500);
    const sse = await fetch(`${running.url}?heartline=1`, { headers: { Accept: 'text/event-stream' } });
    await expect(sse.text()).rejects.toThrow();
    expect(errors).toEqual(['internal', 'internal', 'internal']);
    await until(async () => (await running!.live.stats()).connections.longpoll === 0, 5000, 'no long-poll link left');
    broken = false;
    const ok = await rawReady(running.url);
    ok.ws.close();
  });
});
