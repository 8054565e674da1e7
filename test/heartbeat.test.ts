import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lastSocket, liveSockets, resetSockets, sockets } from './fake-websocket';
import { accept, advance, ofType, open, record } from './helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
});
afterEach(() => {
  expect(liveSockets().length).toBeLessThanOrEqual(1);
  vi.useRealTimers();
});

const hb = { interval: 1000, timeout: 500, message: 'ping', isPong: (d: unknown) => d === 'pong' };

describe('heartbeat', () => {
  it('detects a black-holed server within interval + timeout and reconnects', async () => {
    const c = open({ heartbeat: hb, reconnect: { initialDelay: 10, jitter: 0 } });
    const log = record(c);
    const s = await accept();
    const openedAt = Date.now();
    await advance(999);
    expect(s.sent).toEqual([]);
    await advance(1);
    expect(s.sent).toEqual(['ping']);
    await advance(499);
    expect(c.state).toBe('open');
    await advance(1);
    expect(Date.now() - openedAt).toBe(1500);
    expect(c.state).toBe('reconnecting');
    expect(ofType(log, 'reconnecting')[0]![0].reason).toBe('heartbeat-timeout');
    expect(ofType(log, 'state').at(-1)![1].reason).toBe('heartbeat-timeout');
    expect(s.attached).toBe(false);
    await advance(10);
    expect(sockets).toHaveLength(2);
    c.close();
  });

  it('watches for silence alone when no ping message is given', async () => {
    const c = open({ heartbeat: { interval: 1000, timeout: 500 } });
    const s = await accept();
    await advance(1499);
    expect(c.state).toBe('open');
    expect(s.sent).toEqual([]);
    await advance(1);
    expect(c.state).toBe('reconnecting');
    c.close();
  });

  it('counts any inbound frame as proof of life, so a busy connection sends no pings', async () => {
    const c = open({ heartbeat: hb });
    const s = await accept();
    for (let i = 0; i < 20; i++) {
      await advance(600);
      s.receive(`data ${i}`);
    }
    expect(s.sent).toEqual([]);
    expect(c.state).toBe('open');
    c.close();
  });

  it('filters pongs out of message events and reports the round-trip time', async () => {
    const c = open({ heartbeat: hb });
    const log = record(c);
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    const s = await accept();
    await advance(1000);
    await advance(42);
    s.receive('pong');
    s.receive('app');
    expect(got).toEqual(['app']);
    expect(ofType(log, 'heartbeat')).toEqual([[{ rtt: 42 }]]);
    await advance(900); // past the first ping's deadline: the pong settled it
    expect(c.state).toBe('open');
    c.close();
  });

  it('pings again interval ms after an answer, even when the timeout is longer than the interval', async () => {
    const c = open({ heartbeat: { interval: 150, timeout: 1000, message: 'ping', isPong: (d) => d === 'pong' } });
    const s = await accept();
    const sentAt: number[] = [];
    for (let i = 0; i < 100 && sentAt.length < 4; i++) {
      await advance(10);
      if (s.sent.length > sentAt.length) {
        sentAt.push(Date.now());
        await advance(5);
        s.receive('pong');
      }
    }
    expect(sentAt.slice(1).map((t, i) => t - sentAt[i]!)).toEqual([155, 155, 155]);
    c.close();
  });

  it('accepts any frame after a ping as the answer when the app gives no isPong', async () => {
    const c = open({ heartbeat: { interval: 1000, timeout: 500, message: () => '{"type":"ping"}' } });
    const s = await accept();
    await advance(1000);
    expect(s.sent).toEqual(['{"type":"ping"}']);
    await advance(400);
    s.receive('anything');
    await advance(1100);
    expect(c.state).toBe('open');
    expect(s.sent).toHaveLength(2);
    c.close();
  });

  it('probes with a short deadline instead of failing when its timer fires far too late', async () => {
    const c = open({ heartbeat: { ...hb, interval: 25000, timeout: 10000 } });
    const log = record(c);
    const s = await accept();
    // The machine sleeps: the clock jumps a minute while no timer runs.
    vi.setSystemTime(Date.now() + 60000);
    await advance(25000);
    expect(c.state).toBe('open');
    expect(s.sent).toEqual(['ping']);
    await advance(4999);
    expect(c.state).toBe('open');
    await advance(1);
    expect(c.state).toBe('reconnecting');
    expect(ofType(log, 'reconnecting')[0]![0].reason).toBe('heartbeat-timeout');
    c.close();
  });

  it('keeps the connection when the late probe is answered', async () => {
    const c = open({ heartbeat: hb });
    const s = await accept();
    vi.setSystemTime(Date.now() + 60000);
    await advance(1000);
    expect(s.sent).toEqual(['ping']);
    s.receive('pong');
    await advance(1000);
    expect(c.state).toBe('open');
    c.close();
  });

  it('still declares a dead connection when every timer fires late, as in an intensively throttled tab', async () => {
    const c = open({ heartbeat: hb });
    await accept();
    for (let i = 0; i < 4 && c.state === 'open'; i++) {
      vi.setSystemTime(Date.now() + 60000);
      await advance(1000);
    }
    expect(c.state).toBe('reconnecting');
    c.close();
  });

  it('uses one timer per connection, whatever the phase', async () => {
    const c = open({ heartbeat: hb, reconnect: { initialDelay: 100 } });
    expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
    const s = await accept();
    for (let i = 0; i < 10; i++) {
      await advance(300);
      expect(vi.getTimerCount()).toBe(1);
    }
    s.serverClose(1006);
    expect(vi.getTimerCount()).toBe(1);
    c.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up on an attempt that never opens within interval + timeout', async () => {
    const c = open({ heartbeat: hb });
    const log = record(c);
    await advance(1500);
    expect(ofType(log, 'reconnecting')[0]![0].reason).toBe('connect-timeout');
    expect(sockets[0]!.attached).toBe(false);
    c.close();
  });

  it('runs no timer at all while open with the heartbeat off', async () => {
    const c = open({ heartbeat: false });
    await accept();
    expect(vi.getTimerCount()).toBe(0);
    lastSocket().receive('x');
    expect(vi.getTimerCount()).toBe(0);
    c.close();
  });
});
