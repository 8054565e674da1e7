import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { liveSockets, resetSockets, sockets } from './fake-websocket';
import { accept, advance, ofType, open, record, settle } from './helpers';

/** Counts listeners added to and removed from the page, through the real add/remove methods. */
const countListeners = () => {
  let live = 0;
  for (const target of [window, document] as EventTarget[]) {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    vi.spyOn(target, 'addEventListener').mockImplementation((...a: Parameters<EventTarget['addEventListener']>) => {
      live++;
      add(...a);
    });
    vi.spyOn(target, 'removeEventListener').mockImplementation((...a: Parameters<EventTarget['removeEventListener']>) => {
      live--;
      remove(...a);
    });
  }
  return () => live;
};

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
});
afterEach(() => vi.useRealTimers());

const expectNothingLeft = (listeners: () => number): void => {
  expect(vi.getTimerCount()).toBe(0);
  expect(listeners()).toBe(0);
  expect(liveSockets()).toHaveLength(0);
  expect(sockets.filter((s) => s.attached)).toHaveLength(0);
};

describe('cleanup', () => {
  it('leaves no timer, listener or socket handler behind after 1,000 connect/close cycles', async () => {
    const listeners = countListeners();
    const signal = new AbortController().signal;
    const onSignal = vi.spyOn(signal, 'addEventListener');
    const offSignal = vi.spyOn(signal, 'removeEventListener');
    for (let i = 0; i < 1000; i++) {
      const c = open({ signal, heartbeat: { interval: 100, timeout: 50, message: 'p' } });
      c.on('message', () => {});
      if (i % 3 !== 0) await accept(); // a third close while CONNECTING
      if (i % 5 === 0) await advance(120); // some with a ping outstanding
      c.send('x');
      c.close();
    }
    expectNothingLeft(listeners);
    expect(onSignal).toHaveBeenCalledTimes(1000);
    expect(offSignal).toHaveBeenCalledTimes(1000);
  });

  it('ends cleanly when close() is called while auth() is pending', async () => {
    const listeners = countListeners();
    let release!: (v: string) => void;
    const c = open({ auth: () => new Promise<string>((r) => (release = r)) });
    const log = record(c);
    await settle();
    c.close();
    release('late token');
    await advance(60000);
    expect(sockets).toHaveLength(0);
    expect(c.state).toBe('closed');
    expect(ofType(log, 'open')).toHaveLength(0);
    expectNothingLeft(listeners);
  });

  it('ends cleanly when close() is called during the backoff wait', async () => {
    const listeners = countListeners();
    const c = open({ reconnect: { initialDelay: 1000 } });
    (await accept()).serverClose(1006);
    expect(vi.getTimerCount()).toBe(1);
    c.close();
    await advance(60000);
    expect(sockets).toHaveLength(1);
    expectNothingLeft(listeners);
  });

  it('ends cleanly when close() is called while the socket is CONNECTING', async () => {
    const listeners = countListeners();
    const c = open();
    const log = record(c);
    await settle();
    const s = sockets[0]!;
    c.close();
    expect(s.closedWith).toEqual([1000, '']);
    s.open(); // the browser may still report the open: nobody listens any more
    await advance(60000);
    expect(ofType(log, 'open')).toHaveLength(0);
    expect(ofType(log, 'close')).toEqual([[{ code: 1000, reason: '', wasClean: true, willReconnect: false }]]);
    expectNothingLeft(listeners);
  });

  it('ends cleanly when a stop rule ends the connection', async () => {
    const listeners = countListeners();
    const c = open({ reconnect: { maxRetries: 0 } });
    (await accept()).serverClose(1006);
    expect(c.state).toBe('closed');
    expectNothingLeft(listeners);
  });
});
