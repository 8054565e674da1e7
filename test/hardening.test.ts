// Faults found by testing from outside (issue 12), each as the smallest conversation that showed
// it, over the scripted fake socket and fake timers. The real-socket versions are in test/adversarial/.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartlineError, OptionError, connect } from '../src/index';
import type { Connection, Options } from '../src/index';
import { lastSocket, liveSockets, resetSockets, sockets } from './fake-websocket';
import type { FakeWebSocket } from './fake-websocket';
import { accept, advance, ofType, open, record, settle } from './helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
  sessionStorage.clear();
});
afterEach(() => {
  expect(liveSockets().length).toBeLessThanOrEqual(1);
  vi.useRealTimers();
});

const auto = (o: Options = {}) => open({ protocol: 'auto', ...o });
const handshake = async (s: FakeWebSocket, ready = '{"session":"s1","ack":0,"resumed":false}'): Promise<FakeWebSocket> => {
  s.open();
  s.receive('welcome {"v":1}');
  s.receive(`ready ${ready}`);
  return s;
};

describe('a protocol server that sends nonsense in its handshake (case 2)', () => {
  for (const frame of ['ready null', 'ready 5', 'ready "x"', 'ready [1]', 'welcome null', 'ready {"session":7,"ack":"lots"}']) {
    it(`\`${frame}\` is a typed error and a reconnect, never a TypeError out of the socket handler`, async () => {
      const c = auto({ reconnect: { initialDelay: 10, maxDelay: 10 } });
      const log = record(c);
      await settle();
      const s = lastSocket();
      s.open();
      s.receive('welcome {"v":1}');
      expect(() => s.receive(frame)).not.toThrow();
      const errors = ofType(log, 'error').map(([e]) => e.code);
      expect(errors).toEqual(['malformed']);
      expect(c.state).toBe('reconnecting');
      c.close();
    });
  }
});

describe('close() from inside a listener stops the connection (case 7)', () => {
  for (const type of ['reconnecting', 'state', 'close', 'error'] as const) {
    it(`from a ${type} listener`, async () => {
      const c = open({ reconnect: { initialDelay: 10, maxDelay: 10 } });
      await settle(); // a handshake that fails: every one of these events fires
      let calls = 0;
      c.on(type, () => {
        calls++;
        if (c.state !== 'closed') c.close();
      });
      lastSocket().serverClose(1006);
      await advance(1000);
      expect(c.state).toBe('closed');
      expect(sockets).toHaveLength(1); // no reconnect attempt after close()
      expect(vi.getTimerCount()).toBe(0);
      expect(calls).toBeGreaterThan(0);
    });
  }

  it('reconnect() from a state listener leaves exactly one attempt going', async () => {
    const c = open({ reconnect: { initialDelay: 10, maxDelay: 10 } });
    await accept();
    let once = true;
    c.on('state', (s) => {
      if (s === 'reconnecting' && once) (once = false), c.reconnect();
    });
    lastSocket().serverClose(1006);
    await advance(500);
    expect(sockets).toHaveLength(2);
    lastSocket().open();
    expect(c.state).toBe('open');
    c.close();
  });
});

describe('close(code, reason) validates before it changes anything (case 8)', () => {
  it('a reason over 123 UTF-8 bytes is an OptionError and the connection stays open', async () => {
    const c = open();
    const s = await accept();
    expect(() => c.close(1000, 'x'.repeat(124))).toThrow(OptionError);
    expect(() => c.close(1000, 'é'.repeat(62))).toThrow(OptionError); // 124 bytes
    expect(c.state).toBe('open');
    expect(s.closedWith).toBeUndefined();
    c.close(1000, 'é'.repeat(61));
    expect(s.closedWith).toEqual([1000, 'é'.repeat(61)]);
  });
});

describe('listeners that change the listener set while an event is dispatched (case 9)', () => {
  it('a once() helper that subscribes a replacement runs once per event, not forever', async () => {
    const c = open();
    await accept();
    let runs = 0;
    const once = () => {
      const off = c.on('message', () => {
        runs++;
        off();
        if (runs < 1000) once();
      });
    };
    once();
    lastSocket().receive('a');
    expect(runs).toBe(1);
    lastSocket().receive('b');
    expect(runs).toBe(2);
    c.close();
  });

  it('a listener removed by an earlier one during the same dispatch is not called', async () => {
    const c = open();
    await accept();
    const got: string[] = [];
    let offB = (): void => {};
    c.on('message', () => (got.push('a'), offB()));
    offB = c.on('message', () => void got.push('b'));
    lastSocket().receive('x');
    expect(got).toEqual(['a']);
    c.close();
  });
});

describe('an auth() that never settles (case 10)', () => {
  it('fails the attempt at the connect deadline with a typed error, and retries with a fresh call', async () => {
    const auth = vi.fn(() => new Promise<string>(() => {}));
    const c = open({ auth, heartbeat: { timeout: 1000 }, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const log = record(c);
    await advance(1000);
    const [err] = ofType(log, 'error')[0]!;
    expect(err.code).toBe('auth');
    expect(ofType(log, 'reconnecting')[0]![0].reason).toBe('connect-timeout');
    await advance(10);
    expect(auth).toHaveBeenCalledTimes(2);
    c.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reconnect() and close() + reconnect() call auth() again instead of reusing the pending call', async () => {
    let n = 0;
    const auth = vi.fn(() => (++n < 3 ? new Promise<string>(() => {}) : Promise.resolve('t')));
    const c = open({ auth });
    await settle();
    c.reconnect();
    await settle();
    c.close();
    c.reconnect();
    await settle();
    expect(auth).toHaveBeenCalledTimes(3);
    lastSocket().open();
    expect(c.state).toBe('open');
    c.close();
  });
});

describe('queue.limit counts what is waiting, not what the server already has (case 11)', () => {
  it('a burst of sendWithAck on an open protocol connection is not rejected for messages already written', async () => {
    const c = auto({ queue: { limit: 10, overflow: 'error' } });
    await settle();
    const s = await handshake(lastSocket());
    const acks = Array.from({ length: 50 }, (_, i) => c.sendWithAck(`m${i}`));
    expect(s.sent.filter((f) => String(f).startsWith('msg ')).length).toBe(50);
    s.receive('ack 50');
    await expect(Promise.all(acks)).resolves.toHaveLength(50);
    c.close();
  });

  it('still bounds what waits while disconnected', async () => {
    const c = open({ queue: { limit: 3, overflow: 'drop-newest' } });
    const log = record(c);
    for (let i = 0; i < 5; i++) c.send(`m${i}`);
    expect(ofType(log, 'error').map(([e]) => e.code)).toEqual(['queue-overflow', 'queue-overflow']);
    c.close();
  });
});

describe('values send() cannot encode (class)', () => {
  it('a cycle, a BigInt and a throwing toJSON are typed errors thrown by send() and rejections of sendWithAck()', async () => {
    const c = open({ json: true });
    await accept();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [cycle, { n: 1n }, { toJSON: () => { throw new Error('no'); } }, () => 1, Symbol('s')]) {
      expect(() => c.send(bad)).toThrow(HeartlineError);
      await expect(c.sendWithAck(bad)).rejects.toBeInstanceOf(HeartlineError);
    }
    expect(lastSocket().sent).toEqual([]);
    c.close();
  });
});

describe('app callbacks that throw (class)', () => {
  it('a throwing shouldReconnect falls back to the default and is reported', async () => {
    const c = open({ reconnect: { initialDelay: 10, maxDelay: 10, shouldReconnect: () => { throw new Error('bug'); } } });
    const log = record(c);
    (await accept()).serverClose(1006);
    expect(ofType(log, 'error').map(([e]) => e.code)).toContain('listener');
    expect(c.state).toBe('reconnecting');
    await advance(10);
    expect(sockets).toHaveLength(2);
    c.close();
  });

  it('a throwing logger, isPong and heartbeat.message never escape into the socket or timer callbacks', async () => {
    const boom = () => {
      throw new Error('bug');
    };
    const c = open({ logger: boom, heartbeat: { interval: 100, timeout: 50, message: boom as never, isPong: boom } });
    const got: unknown[] = [];
    c.on('message', (d) => void got.push(d));
    const s = await accept();
    expect(() => s.receive('hello')).not.toThrow();
    expect(got).toEqual(['hello']);
    await advance(100); // the ping's message() throws: treated as no ping, silence is still judged
    expect(c.state).toBe('open');
    await advance(100);
    expect(c.state).toBe('reconnecting');
    c.close();
  });

  it('option getters are read once, at connect(), and a throwing one is an OptionError', () => {
    const o = {
      get json(): boolean {
        throw new Error('getter');
      },
    };
    expect(() => connect('ws://127.0.0.1:1/', o as Options)).toThrow(OptionError);
  });
});


/** A fetch that answers as `answer` says, or hangs until the request is aborted. */
const fakeFetch = (answer: (url: URL, n: number) => Response | 'hang' | 'fail') => {
  const calls: URL[] = [];
  const f = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    calls.push(url);
    const a = answer(url, calls.length);
    if (a === 'fail') return Promise.reject(new TypeError('fetch failed'));
    if (a !== 'hang') return Promise.resolve(a);
    return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
  };
  return Object.assign(f, { calls });
};
const eventStream = (text: string, end = false) =>
  new Response(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(text)), end && c.close()) }), {
    headers: { 'content-type': 'text/event-stream', heartline: '1' },
  });
const WELCOME = 'event: heartline\ndata: welcome {"v":1,"session":"s1","ack":0,"resumed":false,"heartbeat":25000}\n\n';

describe('behind nginx with proxy_buffering on: the SSE response headers never come (case 15)', () => {
  it('long-polling takes over within the welcome deadline (2 s), not the 10 s connect timeout', async () => {
    const fetch = fakeFetch((u) => (u.searchParams.get('open') === '1' ? eventStream(WELCOME, true) : 'hang'));
    const c = open({ protocol: 'auto', transports: ['sse', 'longpoll'], fetch: fetch as never }, 'http://127.0.0.1:1/live');
    await advance(2000);
    await settle();
    expect(c.state).toBe('open');
    expect(c.transport).toBe('longpoll');
    c.close();
  });
});

describe('a server restart does not leave the connection on a fallback (case 12)', () => {
  it('after a round in which every transport failed, the next attempt starts with WebSocket again', async () => {
    let down = false;
    const fetch = fakeFetch(() => (down ? 'fail' : 'hang'));
    const c = open({ transports: ['websocket', 'sse', 'longpoll'], fetch: fetch as never, reconnect: { initialDelay: 100, maxDelay: 100, jitter: 0 } }, 'http://127.0.0.1:1/live');
    await accept();
    expect(c.transport).toBe('websocket');
    down = true;
    lastSocket().serverClose(1006); // the restart begins
    await advance(100);
    lastSocket().serverClose(1006); // WebSocket refused during the outage: SSE, then long-polling fail too
    await settle();
    expect(fetch.calls.length).toBe(2);
    down = false;
    const before = sockets.length;
    await advance(200);
    expect(sockets.length).toBe(before + 1); // the next round starts with a WebSocket, not long-polling
    lastSocket().open();
    expect(c.transport).toBe('websocket');
    c.close();
  });

  it('a fallback that opened during an outage does not become the remembered transport, and WebSocket is checked again soon', async () => {
    let n = 0;
    const fetch = fakeFetch((u) => (u.searchParams.get('heartline') && ++n ? eventStream(WELCOME) : 'hang'));
    const c = open({ protocol: 'auto', fetch: fetch as never, reconnect: { initialDelay: 10, maxDelay: 10, jitter: 0 } }, 'http://127.0.0.1:1/live');
    await settle();
    await handshake(lastSocket());
    expect(c.transport).toBe('websocket');
    lastSocket().serverClose(1006);
    await advance(10);
    lastSocket().serverClose(1006); // refused once; the server is back by the time SSE asks
    await settle();
    await settle();
    expect(c.transport).toBe('sse');
    expect(sessionStorage.getItem('heartline:http://127.0.0.1:1/live')).toBe('websocket');
    const before = sockets.length;
    await advance(3000); // not the 5 minutes of upgradeAfter
    expect(sockets.length).toBe(before + 1);
    c.close();
  });
});

describe('a proxy that cuts idle connections after 5 s (case 16)', () => {
  it('a protocol connection that worked and was cut does not count as a failed attempt', async () => {
    const c = auto({ reconnect: { initialDelay: 100, maxDelay: 30000, jitter: 0 } });
    const log = record(c);
    for (let i = 0; i < 6; i++) {
      await settle();
      await handshake(lastSocket());
      await advance(4900);
      lastSocket().serverClose(1006);
      await advance(100);
    }
    expect(ofType(log, 'reconnecting').map(([r]) => r.delay)).toEqual([100, 100, 100, 100, 100, 100]);
    c.close();
  });

  it('after two cuts at the same idle time, the heartbeat pings before it and the connection stays up', async () => {
    const c = open({ heartbeat: { message: 'ping', isPong: (d) => d === 'pong' }, reconnect: { initialDelay: 10, maxDelay: 10 } });
    for (let i = 0; i < 2; i++) {
      const s = await accept();
      await advance(5000);
      expect(s.sent).toEqual([]);
      s.serverClose(1006);
      await advance(10);
    }
    const s = await accept();
    await advance(3750);
    expect(s.sent).toEqual(['ping']); // 3/4 of the 5 s the proxy allowed
    s.receive('pong');
    await advance(3750);
    expect(s.sent).toEqual(['ping', 'ping']);
    expect(c.state).toBe('open');
    c.close();
  });
});

describe('a resume the server could not honour is never silent (case 18)', () => {
  it('an error event with code gap follows open when the client asked to resume and the server said resumed: false', async () => {
    const c = auto({ lastEventId: 'e41' });
    const log = record(c);
    await settle();
    await handshake(lastSocket());
    expect(ofType(log, 'open')[0]![0].resumed).toBe(false);
    const [err] = ofType(log, 'error')[0]!;
    expect(err.code).toBe('gap');
    expect(err.data).toBe('e41');
    c.close();
  });

  it('no gap error for a fresh client or a successful resume', async () => {
    const c = auto();
    const log = record(c);
    await settle();
    await handshake(lastSocket());
    const d = auto({ lastEventId: 'e41' });
    const logD = record(d);
    await settle();
    await handshake(lastSocket(), '{"session":"s2","ack":0,"resumed":true}');
    expect([...ofType(log, 'error'), ...ofType(logD, 'error')]).toEqual([]);
    c.close();
    d.close();
  });
});
