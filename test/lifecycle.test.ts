import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lastSocket, liveSockets, resetSockets, sockets } from './fake-websocket';
import { accept, advance, ofType, open, record, settle } from './helpers';

let visibility: DocumentVisibilityState = 'visible';
beforeEach(() => {
  vi.useFakeTimers();
  resetSockets();
  visibility = 'visible';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
});
afterEach(() => {
  expect(liveSockets().length).toBeLessThanOrEqual(1);
  vi.useRealTimers();
});

const setVisibility = (v: DocumentVisibilityState): void => {
  visibility = v;
  document.dispatchEvent(new Event('visibilitychange'));
};
const pageEvent = (type: string, persisted = false): void => {
  const e = new Event(type);
  Object.defineProperty(e, 'persisted', { value: persisted });
  window.dispatchEvent(e);
};
const hb = { interval: 25000, timeout: 10000, message: 'ping', isPong: (d: unknown) => d === 'pong' };

describe('page lifecycle', () => {
  it('probes at once when the page becomes visible again', async () => {
    const c = open({ heartbeat: hb });
    const s = await accept();
    setVisibility('hidden');
    await advance(3000);
    setVisibility('visible');
    expect(s.sent).toEqual(['ping']);
    await advance(5000); // the probe's short deadline, not the 10 s timeout
    expect(c.state).toBe('reconnecting');
    c.close();
  });

  for (const [what, fire] of [
    ['a resume after a freeze', () => document.dispatchEvent(new Event('resume'))],
    ['the online event while open', () => window.dispatchEvent(new Event('online'))],
  ] as const) {
    it(`probes at once on ${what}, and an answer keeps the connection`, async () => {
      const c = open({ heartbeat: hb });
      const s = await accept();
      await advance(1000);
      fire();
      expect(s.sent).toEqual(['ping']);
      s.receive('pong');
      await advance(6000);
      expect(c.state).toBe('open');
      c.close();
    });
  }

  it('probes instead of tearing down when the browser goes offline, blaming offline if unanswered', async () => {
    const c = open({ heartbeat: hb });
    const log = record(c);
    const s = await accept();
    window.dispatchEvent(new Event('offline'));
    expect(c.state).toBe('open');
    expect(s.sent).toEqual(['ping']);
    await advance(5000);
    expect(ofType(log, 'reconnecting')[0]![0].reason).toBe('offline');
    c.close();
  });

  it('retries at once when the browser comes back online during a backoff wait', async () => {
    const c = open({ reconnect: { initialDelay: 60000, maxDelay: 60000, jitter: 0 } });
    const log = record(c);
    (await accept()).serverClose(1006);
    window.dispatchEvent(new Event('online'));
    await settle();
    expect(sockets).toHaveLength(2);
    expect(ofType(log, 'state').map(([, i]) => i.reason)).toContain('network-error');
    lastSocket().open();
    expect(c.state).toBe('open');
    c.close();
  });

  it('closes politely on pagehide and reconnects when restored from the back/forward cache', async () => {
    const c = open();
    const log = record(c);
    const s = await accept();
    pageEvent('pagehide', true);
    expect(s.closedWith).toEqual([1000, 'pagehide']);
    expect(c.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    c.send('while cached');
    pageEvent('pageshow', false);
    await settle();
    expect(sockets).toHaveLength(1);
    pageEvent('pageshow', true);
    const next = await accept();
    expect(next.sent).toEqual(['while cached']);
    expect(ofType(log, 'state').map(([st, i]) => `${st}:${i.reason}`)).toEqual([
      'open:open',
      'closed:pagehide',
      'connecting:pageshow',
      'open:open',
    ]);
    c.close();
  });

  it("closes after 30 s hidden with whenHidden: 'close' and resumes when visible", async () => {
    const c = open({ whenHidden: 'close', heartbeat: hb });
    const log = record(c);
    const s = await accept();
    setVisibility('hidden');
    await advance(29999);
    expect(c.state).toBe('open');
    await advance(1);
    expect(c.state).toBe('closed');
    expect(s.attached).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    setVisibility('visible');
    await accept();
    expect(ofType(log, 'state').map(([st, i]) => `${st}:${i.reason}`)).toEqual(['open:open', 'closed:hidden', 'connecting:visible', 'open:open']);
    c.close();
  });

  it("stays connected when the page comes back within the grace period with whenHidden: 'close'", async () => {
    const c = open({ whenHidden: 'close', heartbeat: false });
    await accept();
    setVisibility('hidden');
    await advance(20000);
    setVisibility('visible');
    await advance(60000);
    expect(c.state).toBe('open');
    expect(sockets).toHaveLength(1);
    c.close();
  });

  it("keeps the connection of a hidden page with the default whenHidden: 'keep'", async () => {
    const c = open({ heartbeat: false });
    await accept();
    setVisibility('hidden');
    await advance(120000);
    expect(c.state).toBe('open');
    c.close();
  });

  it('stops listening to the page after close()', async () => {
    const c = open({ heartbeat: hb });
    await accept();
    c.close();
    setVisibility('visible');
    window.dispatchEvent(new Event('online'));
    pageEvent('pageshow', true);
    await settle();
    expect(sockets).toHaveLength(1);
    expect(c.state).toBe('closed');
  });
});
