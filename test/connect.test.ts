import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartlineError, OptionError, QueueOverflowError } from '../src/index';
import { lastSocket, liveSockets, resetSockets, sockets } from './fake-websocket';
import { accept, advance, ofType, open, record, settle } from './helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
});
afterEach(() => {
  expect(liveSockets().length).toBeLessThanOrEqual(1);
  vi.useRealTimers();
});

describe('connecting', () => {
  it('connects at once and reports connecting then open with the websocket transport', async () => {
    const c = open();
    const log = record(c);
    expect(c.state).toBe('connecting');
    expect(c.transport).toBeUndefined();
    await accept();
    expect(c.state).toBe('open');
    expect(c.transport).toBe('websocket');
    expect(ofType(log, 'open')).toEqual([[{ transport: 'websocket', resumed: false, attempt: 0 }]]);
    expect(ofType(log, 'state')).toEqual([['open', { previous: 'connecting', reason: 'open' }]]);
    c.close();
  });

  it('maps an http URL to ws on the same path and query', async () => {
    const c = open({}, 'https://example.test:8443/live?room=1');
    await settle();
    expect(lastSocket().url).toBe('wss://example.test:8443/live?room=1');
    c.close();
  });

  it('evaluates a URL function, sync or async, on every attempt', async () => {
    let n = 0;
    const c = open({ reconnect: { initialDelay: 10 } }, async () => `ws://127.0.0.1:1/x?attempt=${++n}`);
    await accept();
    lastSocket().serverClose(1006);
    await advance(10);
    expect(sockets.map((s) => s.url)).toEqual(['ws://127.0.0.1:1/x?attempt=1', 'ws://127.0.0.1:1/x?attempt=2']);
    c.close();
    const d = open({}, () => new URL('ws://127.0.0.1:2/sync'));
    await settle();
    expect(lastSocket().url).toBe('ws://127.0.0.1:2/sync');
    d.close();
  });

  it('passes subprotocols and sets binaryType to arraybuffer by default', async () => {
    const c = open({ protocols: ['a', 'b'] });
    await settle();
    expect(lastSocket().protocols).toEqual(['a', 'b']);
    expect(lastSocket().binaryType).toBe('arraybuffer');
    c.close();
  });

  it('waits for the first send or message listener when lazy', async () => {
    const c = open({ lazy: true });
    await settle();
    expect(sockets).toHaveLength(0);
    expect(c.state).toBe('closed');
    c.on('message', () => {});
    await settle();
    expect(sockets).toHaveLength(1);
    c.close();
    const d = open({ lazy: true });
    d.send('first');
    const s = await accept();
    expect(s.sent).toEqual(['first']);
    d.close();
  });

  it('stops with a typed error when the URL cannot be resolved', async () => {
    const c = open({}, () => {
      throw new Error('no config');
    });
    const log = record(c);
    await settle();
    expect(c.state).toBe('closed');
    const [err] = ofType(log, 'error')[0]!;
    expect(err.code).toBe('connect');
    expect((err.cause as Error).message).toBe('no config');
  });

  it('stops with a typed error when there is no WebSocket at all', async () => {
    const c = open({ WebSocket: undefined as never });
    const log = record(c);
    const saved = globalThis.WebSocket;
    // @ts-expect-error removing the global for this test
    delete globalThis.WebSocket;
    try {
      await settle();
    } finally {
      globalThis.WebSocket = saved;
    }
    expect(ofType(log, 'error')[0]![0].code).toBe('connect');
    expect(c.state).toBe('closed');
  });
});

describe('sending', () => {
  it('writes at once while open', async () => {
    const c = open();
    const s = await accept();
    c.send('a');
    c.send(new Uint8Array([1, 2]));
    expect(s.sent).toEqual(['a', new Uint8Array([1, 2])]);
    c.close();
  });

  it('queues while connecting and flushes in order before later sends', async () => {
    const c = open();
    c.send('1');
    c.send('2');
    c.on('open', () => c.send('from-open-listener'));
    const s = await accept();
    c.send('3');
    expect(s.sent).toEqual(['1', '2', 'from-open-listener', '3']);
    c.close();
  });

  it('queues while the socket is closing instead of losing the message', async () => {
    const c = open({ reconnect: { initialDelay: 1 } });
    const s = await accept();
    s.readyState = 2; // CLOSING: the browser would silently discard a send now
    c.send('late');
    s.serverClose(1001);
    await advance(1);
    const next = await accept();
    expect(next.sent).toEqual(['late']);
    c.close();
  });

  it('sends the auth result as the first frame, before queued messages', async () => {
    const c = open({ auth: async () => ({ token: 't1' }) });
    c.send('queued');
    const s = await accept();
    expect(s.sent).toEqual(['{"token":"t1"}', 'queued']);
    c.close();
  });

  it('encodes JSON values and decodes text messages in json mode, passing binary through', async () => {
    const c = open({ json: true });
    const got: unknown[] = [];
    c.on('message', (d, meta) => got.push([d, meta]));
    const s = await accept();
    c.send({ a: 1 });
    c.send('text');
    const bin = new ArrayBuffer(2);
    c.send(bin);
    expect(s.sent).toEqual(['{"a":1}', '"text"', bin]);
    s.receive('{"b":2}');
    s.receive(bin);
    expect(got).toEqual([
      [{ b: 2 }, { id: '', event: 'message', transport: 'websocket' }],
      [bin, { id: '', event: 'message', transport: 'websocket' }],
    ]);
    c.close();
  });

  it('reports malformed JSON as a typed error carrying the frame, and stays open', async () => {
    const c = open({ json: true });
    const log = record(c);
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    const s = await accept();
    s.receive('{not json');
    s.receive('[1]');
    const [err] = ofType(log, 'error')[0]!;
    expect(err.code).toBe('malformed');
    expect(err.data).toBe('{not json');
    expect(got).toEqual([[1]]);
    expect(c.state).toBe('open');
    c.close();
  });

  it('rejects values a WebSocket would silently stringify', () => {
    const c = open({ lazy: true });
    expect(() => c.send({ a: 1 })).toThrow(OptionError);
    expect(() => c.send(undefined)).toThrow(/send\(\) takes text, binary/);
    const j = open({ json: true, lazy: true });
    expect(() => j.send(undefined)).toThrow(OptionError);
  });

  it('throws a typed error when sending after close()', () => {
    const c = open();
    c.close();
    try {
      c.send('x');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HeartlineError);
      expect((e as HeartlineError).code).toBe('closed');
    }
  });

  it('drops the oldest message on overflow by default and reports it', async () => {
    const c = open({ queue: { limit: 2 } });
    const log = record(c);
    c.send('1');
    c.send('2');
    c.send('3');
    const [err] = ofType(log, 'error')[0]!;
    expect(err).toBeInstanceOf(QueueOverflowError);
    expect(err.code).toBe('queue-overflow');
    expect(err.data).toBe('1');
    const s = await accept();
    expect(s.sent).toEqual(['2', '3']);
    c.close();
  });

  it('drops the newest message with drop-newest and reports it', async () => {
    const c = open({ queue: { limit: 1, overflow: 'drop-newest' } });
    const log = record(c);
    c.send('1');
    c.send('2');
    expect(ofType(log, 'error')[0]![0].data).toBe('2');
    const s = await accept();
    expect(s.sent).toEqual(['1']);
    c.close();
  });

  it('throws on overflow with the error policy, keeping the queue intact', async () => {
    const c = open({ queue: { limit: 1, overflow: 'error' } });
    c.send('1');
    expect(() => c.send('2')).toThrow(QueueOverflowError);
    const s = await accept();
    expect(s.sent).toEqual(['1']);
    c.close();
  });

  it('reports queued messages that close() leaves unsent', () => {
    const c = open();
    const log = record(c);
    c.send('a');
    c.send('b');
    c.close();
    const [err] = ofType(log, 'error')[0]!;
    expect(err.code).toBe('closed');
    expect(err.data).toEqual(['a', 'b']);
  });
});

describe('events', () => {
  it('keeps dispatching and reports through error when a listener throws', async () => {
    const c = open();
    const log = record(c);
    const boom = new Error('listener bug');
    c.on('open', () => {
      throw boom;
    });
    let second = false;
    c.on('open', () => (second = true));
    await accept();
    expect(second).toBe(true);
    const [err] = ofType(log, 'error')[0]!;
    expect(err.code).toBe('listener');
    expect(err.cause).toBe(boom);
    expect(c.state).toBe('open');
    c.close();
  });

  it('hands an error thrown by an error listener to reportError instead of looping', async () => {
    const reported: unknown[] = [];
    vi.stubGlobal('reportError', (e: unknown) => reported.push(e));
    const c = open();
    c.on('error', () => {
      throw new Error('error listener bug');
    });
    c.on('open', () => {
      throw new Error('open listener bug');
    });
    await accept();
    expect(reported).toHaveLength(1);
    expect(c.state).toBe('open');
    c.close();
    vi.unstubAllGlobals();
  });

  it('rejects unknown event types and non-function listeners with an OptionError', () => {
    const c = open({ lazy: true });
    expect(() => c.on('mesage' as 'open', () => {})).toThrow(/on\(\) takes an event name \(open, message, .*\) and a function/);
    expect(() => c.on('open', 'nope' as never)).toThrow(OptionError);
  });

  it('stops calling a listener once unsubscribed', async () => {
    const c = open();
    let n = 0;
    const off = c.on('state', () => n++);
    off();
    await accept();
    expect(n).toBe(0);
    c.close();
  });

  it('forwards every event to the logger as a structured record', async () => {
    const entries: { type: string }[] = [];
    const c = open({ logger: (e) => entries.push(e) });
    await accept();
    c.close();
    expect(entries.map((e) => e.type)).toEqual(['state', 'state', 'open', 'close', 'state']);
  });
});

describe('close() and reconnect()', () => {
  it('rejects close codes the WebSocket API would throw on', () => {
    const c = open({ lazy: true });
    expect(() => c.close(1006)).toThrow(/close\(\) code must be 1000 or 3000-4999/);
    expect(() => c.close(4001, 'bye')).not.toThrow();
  });

  it('closes the open socket with the given code and reports a clean final close', async () => {
    const c = open();
    const log = record(c);
    const s = await accept();
    c.close(4001, 'bye');
    expect(s.closedWith).toEqual([4001, 'bye']);
    expect(s.attached).toBe(false);
    expect(ofType(log, 'close')).toEqual([[{ code: 4001, reason: 'bye', wasClean: true, willReconnect: false }]]);
    expect(c.state).toBe('closed');
    expect(ofType(log, 'state').at(-1)).toEqual(['closed', { previous: 'open', reason: 'user-close' }]);
  });

  it('reconnects at once from open, replacing the socket', async () => {
    const c = open();
    const log = record(c);
    const first = await accept();
    c.reconnect();
    expect(first.attached).toBe(false);
    expect(c.state).toBe('reconnecting');
    const second = await accept();
    expect(second).not.toBe(first);
    expect(ofType(log, 'close')[0]![0].willReconnect).toBe(true);
    expect(c.state).toBe('open');
    c.close();
  });

  it('reconnects at once from the backoff wait, skipping the delay', async () => {
    const c = open({ reconnect: { initialDelay: 60000, maxDelay: 60000, jitter: 0 } });
    (await accept()).serverClose(1006);
    expect(sockets).toHaveLength(1);
    c.reconnect();
    await settle();
    expect(sockets).toHaveLength(2);
    c.close();
  });

  it('brings a closed connection back', async () => {
    const c = open();
    await accept();
    c.close();
    c.reconnect();
    expect(c.state).toBe('connecting');
    await accept();
    expect(c.state).toBe('open');
    c.send('works again');
    expect(lastSocket().sent).toEqual(['works again']);
    c.close();
  });

  it('closes when its AbortSignal aborts, and never starts when it was already aborted', async () => {
    const ac = new AbortController();
    const c = open({ signal: ac.signal });
    await accept();
    ac.abort();
    expect(c.state).toBe('closed');
    expect(() => c.send('x')).toThrow(HeartlineError);
    const d = open({ signal: AbortSignal.abort() });
    await settle();
    expect(d.state).toBe('closed');
    expect(sockets).toHaveLength(1);
  });
});
