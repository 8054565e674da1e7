import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { observe } from '../src/index';
import { resetSockets } from './fake-websocket';
import { accept, open } from './helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
});
afterEach(() => vi.useRealTimers());

describe('observe (subscribe/getSnapshot for framework bindings)', () => {
  it('keeps the snapshot identity until a field changes', async () => {
    const c = open({ json: true });
    const store = observe(c);
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    expect(first).toStrictEqual({ state: 'connecting', transport: undefined, lastEventId: '', error: undefined, lastError: undefined });
    const s = await accept();
    const opened = store.getSnapshot();
    expect(opened).not.toBe(first);
    expect(opened).toMatchObject({ state: 'open', transport: 'websocket' });
    s.receive('{bad');
    const errored = store.getSnapshot();
    expect(errored.error?.code).toBe('malformed');
    expect(store.getSnapshot()).toBe(errored);
    c.close();
  });

  it('clears error when the connection opens again, keeps lastError, and a subscriber sees the cleared snapshot on open', async () => {
    const c = open({ json: true, reconnect: { initialDelay: 10 } });
    const store = observe(c);
    const seen: [string, string | undefined, string | undefined][] = [];
    store.subscribe(() => {
      const { state, error, lastError } = store.getSnapshot();
      seen.push([state, error?.code, lastError?.code]);
    });
    const s = await accept();
    s.receive('{bad');
    const bad = store.getSnapshot().error;
    expect(bad?.code).toBe('malformed');
    s.serverClose(1006);
    expect(store.getSnapshot()).toMatchObject({ state: 'reconnecting', error: bad, lastError: bad });
    await vi.advanceTimersByTimeAsync(10);
    await accept();
    expect(store.getSnapshot()).toMatchObject({ state: 'open', error: undefined, lastError: bad });
    expect(seen.filter(([state]) => state === 'open').slice(-1)).toEqual([['open', undefined, 'malformed']]);
    c.close();
  });

  it('notifies subscribers on every change and stops after unsubscribe', async () => {
    const c = open();
    const store = observe(c);
    let calls = 0;
    const off = store.subscribe(() => calls++);
    await accept();
    expect(calls).toBeGreaterThanOrEqual(1);
    const before = calls;
    off();
    c.close();
    expect(calls).toBe(before);
  });
});
