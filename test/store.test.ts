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
    expect(first).toEqual({ state: 'connecting', transport: undefined, lastEventId: '', error: undefined });
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
