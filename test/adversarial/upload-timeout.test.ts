// @vitest-environment node
// Issue 12, case 14 and its neighbours: an upload's `timeout` (ms without any acknowledgement)
// counts from upload() whether connected or not, so no server can keep an upload pending forever.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { bytesOf, client, closeAll, honest, hostile, outcome, until } from './upload-server';
import type { Hostile } from './upload-server';

let server: Hostile | undefined;
afterEach(async () => {
  closeAll();
  await server?.stop();
  server = undefined;
});

describe('adversarial uploads: nobody answers', () => {
  it('on a connection that never opens (hello never answered) the upload fails stalled after its timeout', async () => {
    server = await hostile(() => {}, false);
    const c = client(server.url);
    const started = Date.now();
    const r = await outcome(c.upload(new Blob([bytesOf(1000)]), { timeout: 300 }), 3000);
    console.log(`never opens: ${r} after ${Date.now() - started} ms (state ${c.state})`);
    expect(r).toBe('stalled'); // before the fix: 'pending' (the timeout ran only while connected)
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(c.state).not.toBe('open');
  });

  it('with no server at all (connection refused again and again) the upload fails stalled after its timeout', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const { port } = wss.address() as AddressInfo;
    await new Promise((r) => wss.close(r)); // nothing listens on this port any more
    const c = client(`ws://127.0.0.1:${port}/hl`);
    expect(await outcome(c.upload(new Blob([bytesOf(1000)]), { timeout: 300 }), 3000)).toBe('stalled');
  });

  it('a connected server that never answers up.open: stalled after the timeout, and up.abort is sent', async () => {
    server = await hostile(() => {});
    const c = client(server.url);
    expect(await outcome(c.upload(new Blob([bytesOf(1000)]), { timeout: 300 }), 3000)).toBe('stalled');
    await until(() => server!.frames.length === 2);
    expect(server.frames.map((f) => f.type)).toEqual(['up.open', 'up.abort']);
  });

  it('a server that goes away mid-upload (and refuses every reconnection) fails it stalled after the timeout', async () => {
    const h = honest();
    const s = (server = await hostile((f, send) => {
      h.script(f, send);
      if (f.type === 'up.chunk') void s.stop(); // after one acknowledged chunk, nothing listens any more
    }));
    const c = client(server.url);
    const p = c.upload(new Blob([bytesOf(8192)]), { chunkSize: 1024, highWaterMark: 1024, timeout: 300 });
    expect(await outcome(p, 3000)).toBe('stalled'); // before the fix: 'pending', reconnecting for ever
    expect(c.state).not.toBe('open');
  });
});
