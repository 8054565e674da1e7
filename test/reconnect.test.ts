import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

const noJitter = { initialDelay: 100, maxDelay: 10000, jitter: 0 };

describe('reconnection', () => {
  it('schedules a retry within the backoff bounds after the server drops, then reopens', async () => {
    const c = open({ reconnect: { initialDelay: 400 } });
    const log = record(c);
    (await accept()).serverClose(1006, '', false);
    const [info] = ofType(log, 'reconnecting')[0]!;
    expect(info.attempt).toBe(1);
    expect(info.reason).toBe('network-error');
    expect(info.delay).toBeGreaterThanOrEqual(0);
    expect(info.delay).toBeLessThanOrEqual(400);
    expect(c.state).toBe('reconnecting');
    expect(ofType(log, 'close')[0]![0]).toEqual({ code: 1006, reason: '', wasClean: false, willReconnect: true });
    await advance(info.delay - 1);
    expect(sockets).toHaveLength(1);
    await advance(1);
    expect(sockets).toHaveLength(2);
    lastSocket().open();
    expect(c.state).toBe('open');
    expect(ofType(log, 'open')[1]![0].attempt).toBe(1);
    c.close();
  });

  for (const code of [1000, 1001, 1006, 1011, 1012]) {
    it(`retries after close code ${code}`, async () => {
      const c = open({ reconnect: noJitter });
      const log = record(c);
      (await accept()).serverClose(code);
      expect(ofType(log, 'reconnecting')).toHaveLength(1);
      await advance(100);
      expect(sockets).toHaveLength(2);
      c.close();
    });
  }

  it('names a clean server close server-close and a failed one network-error', async () => {
    const c = open({ reconnect: noJitter });
    const log = record(c);
    (await accept()).serverClose(1000, 'bye', true);
    await advance(100);
    lastSocket().serverClose(1006, '', false);
    expect(ofType(log, 'reconnecting').map(([i]) => i.reason)).toEqual(['server-close', 'network-error']);
    c.close();
  });

  for (const code of [1008, 4401, 4403]) {
    it(`refreshes credentials once after close code ${code}, then stops with auth-failed`, async () => {
      const auth = vi.fn(async () => 'token');
      const c = open({ auth, reconnect: noJitter });
      const log = record(c);
      (await accept()).serverClose(code);
      await advance(100);
      expect(auth).toHaveBeenCalledTimes(2);
      (await accept()).serverClose(code);
      await advance(10000);
      expect(sockets).toHaveLength(2);
      expect(c.state).toBe('closed');
      expect(ofType(log, 'state').at(-1)![1].reason).toBe('auth-failed');
      expect(ofType(log, 'error').at(-1)![0].code).toBe('connect');
      c.close();
    });
  }

  it('waits at least initialDelay * 10 after close code 1013', async () => {
    const c = open({ reconnect: { initialDelay: 100 } });
    const log = record(c);
    (await accept()).serverClose(1013, 'try later');
    expect(ofType(log, 'reconnecting')[0]![0].delay).toBe(1000);
    await advance(999);
    expect(sockets).toHaveLength(1);
    await advance(1);
    expect(sockets).toHaveLength(2);
    c.close();
  });

  it('lets shouldReconnect override the default in both directions', async () => {
    const seen: unknown[] = [];
    const c = open({
      auth: async () => 't',
      reconnect: { ...noJitter, shouldReconnect: (i) => (seen.push(i), i.code === 4403 ? true : i.code === 4000 ? false : undefined) },
    });
    const log = record(c);
    (await accept()).serverClose(4403);
    await advance(100);
    (await accept()).serverClose(4403); // the default would stop here; the hook says retry
    await advance(200);
    (await accept()).serverClose(4000);
    expect(c.state).toBe('closed');
    expect(ofType(log, 'state').at(-1)![1].reason).toBe('stop');
    expect(seen[0]).toMatchObject({ attempt: 0, code: 4403, reason: 'server-close', retry: true });
    expect(seen[1]).toMatchObject({ code: 4403, retry: false });
    c.close();
  });

  it('gives up after maxRetries consecutive failures', async () => {
    const c = open({ reconnect: { ...noJitter, maxRetries: 2 } });
    const log = record(c);
    (await accept()).serverClose(1006);
    await advance(100);
    lastSocket().serverClose(1006);
    await advance(200);
    lastSocket().serverClose(1006);
    await advance(60000);
    expect(sockets).toHaveLength(3);
    expect(c.state).toBe('closed');
    expect(ofType(log, 'state').at(-1)![1].reason).toBe('max-retries');
    expect(ofType(log, 'close').at(-1)![0].willReconnect).toBe(false);
    c.close();
  });

  it('closes for good on the first failure when reconnect is false', async () => {
    const c = open({ reconnect: false });
    const log = record(c);
    (await accept()).serverClose(1006);
    await advance(60000);
    expect(sockets).toHaveLength(1);
    expect(c.state).toBe('closed');
    expect(ofType(log, 'error')).toHaveLength(1);
  });

  it('never loops tightly against a server that accepts and drops at once', async () => {
    const c = open({ heartbeat: false });
    const log = record(c);
    const tenMinutes = 600000;
    const start = Date.now();
    // Every socket opens and is dropped immediately, for ten minutes of simulated time.
    while (Date.now() - start < tenMinutes) {
      await settle();
      const s = lastSocket();
      if (s.readyState === 0) {
        s.open();
        s.serverClose(1006);
      }
      await advance(50);
    }
    const delays = ofType(log, 'reconnecting').map(([i]) => i);
    // Without a stable connection the counter never resets, so the window grows to maxDelay:
    // about 8 attempts to reach it, then about one per 15 s on average.
    expect(delays.length).toBeLessThan(90);
    expect(delays.map((d) => d.attempt)).toEqual(delays.map((_, i) => i + 1));
    const late = delays.slice(12);
    const mean = late.reduce((a, d) => a + d.delay, 0) / late.length;
    expect(mean).toBeGreaterThan(9000);
    c.close();
  });

  it('resets the retry counter only after a connection stayed up stableAfter ms', async () => {
    const c = open({ heartbeat: false, reconnect: { ...noJitter, stableAfter: 5000 } });
    const log = record(c);
    (await accept()).serverClose(1006);
    await advance(100);
    lastSocket().open();
    await advance(4999);
    lastSocket().serverClose(1006); // up 4999 ms: not stable
    await advance(200);
    lastSocket().open();
    await advance(5000);
    lastSocket().serverClose(1006); // up 5000 ms: stable, counter resets
    expect(ofType(log, 'reconnecting').map(([i]) => [i.attempt, i.delay])).toEqual([
      [1, 100],
      [2, 200],
      [1, 100],
    ]);
    c.close();
  });

  it('retries with backoff and reports the error when auth() throws', async () => {
    let n = 0;
    const auth = vi.fn(async () => {
      if (n++ === 0) throw new Error('token endpoint down');
      return 'ok';
    });
    const c = open({ auth, reconnect: noJitter });
    const log = record(c);
    await settle();
    expect(sockets).toHaveLength(0);
    const [err] = ofType(log, 'error')[0]!;
    expect(err.code).toBe('auth');
    expect(ofType(log, 'reconnecting')[0]![0]).toMatchObject({ reason: 'auth-failed', delay: 100 });
    await advance(100);
    expect(sockets).toHaveLength(1);
    expect(auth).toHaveBeenCalledTimes(2);
    c.close();
  });

  it('keeps at most one socket alive through any sequence of reconnects and failures', async () => {
    const c = open({ reconnect: { initialDelay: 10, maxDelay: 40 } });
    for (let i = 0; i < 200; i++) {
      const r = (i * 7919) % 5;
      if (r === 0) c.reconnect();
      else if (r === 1) lastSocket().open();
      else if (r === 2) lastSocket().serverClose(1006);
      else await advance(r * 7);
      expect(liveSockets().length).toBeLessThanOrEqual(1);
    }
    c.close();
    expect(liveSockets()).toHaveLength(0);
  });

  it('ignores events from a discarded socket', async () => {
    const c = open();
    const log = record(c);
    const first = await accept();
    const handlers = { message: first.onmessage!, close: first.onclose! };
    c.reconnect();
    const second = await accept();
    handlers.message({ data: 'late' });
    handlers.close({ code: 1006, reason: '', wasClean: false });
    expect(c.state).toBe('open');
    expect(ofType(log, 'reconnecting')).toHaveLength(0);
    expect(second.attached).toBe(true);
    c.close();
  });
});
