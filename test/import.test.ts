// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { FakeWebSocket, lastSocket } from './fake-websocket';

describe('runtime neutrality', () => {
  it('imports and connects without window, document or navigator', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined');
    const touched: string[] = [];
    for (const name of ['window', 'document', 'navigator', 'location']) {
      Object.defineProperty(globalThis, name, { configurable: true, get: () => void touched.push(name) });
    }
    try {
      const { connect } = await import('../src/index');
      expect(touched).toEqual([]); // nothing at import time
      const c = connect('ws://127.0.0.1:1/x', { WebSocket: FakeWebSocket as never, protocol: 'plain', heartbeat: false });
      await new Promise((r) => setTimeout(r, 0));
      lastSocket().open();
      expect(c.state).toBe('open');
      c.close();
    } finally {
      for (const name of ['window', 'document', 'navigator', 'location']) delete (globalThis as Record<string, unknown>)[name];
    }
  });
});
