// @vitest-environment node
// Issue 12, case 6 and the class "a server cannot make the client buffer or loop without bound":
// a real hostile protocol server floods `up.offset`, loops on `up.offset 0`, floods `up.ack`.
import { afterEach, describe, expect, it } from 'vitest';
import { REPEATS } from '../../src/upload';
import { CountingBlob, bytesOf, client, closeAll, honest, hostile, outcome, until } from './upload-server';
import type { Hostile } from './upload-server';

let server: Hostile | undefined;
afterEach(async () => {
  closeAll();
  await server?.stop();
  server = undefined;
});

const MiB = 1 << 20;

describe('adversarial uploads: floods and loops', () => {
  it('a flood of 120 valid up.offset frames runs one pump: a few Blob slices and a few MiB, not one buffer per frame', async () => {
    const h = honest();
    server = await hostile((f, send) => {
      if (f.type === 'up.open') {
        // Every offset is valid (it advances, within the file): each one redirects the upload.
        for (let k = 1; k <= 120; k++) send(`up.offset ${f.id} ${k}`);
        h.held.set(f.id, { size: f.meta!.size, n: 120 });
        return;
      }
      // Chunks the client sent before the flood ended (it may arrive in several reads) are ignored.
      if (f.type !== 'up.chunk' || f.offset === h.held.get(f.id)!.n) h.script(f, send);
    });
    const c = client(server.url);
    const blob = new CountingBlob([bytesOf(4 * MiB)]);
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const p = c.upload(blob, {
      chunkSize: MiB,
      // Called synchronously on every up.offset, right after the client acted on it.
      onProgress: () => void (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)),
    });
    expect(await outcome(p, 8000)).toBe('resolved');
    const offsets = server.chunks().map((f) => f.offset);
    console.log(`offset flood: ${blob.slices} Blob slices, ${(peak / MiB).toFixed(1)} MiB ArrayBuffer peak, chunks at ${offsets.join(' ')}`);
    // A slice per new read position the one pump saw (4 measured), however the flood was split
    // into reads; before the fix: 120, one pump (and 1 MiB buffer) per frame.
    expect(blob.slices).toBeLessThanOrEqual(12);
    expect(peak).toBeLessThan(48 * MiB); // 19 MiB measured (the file, chunks in flight); before the fix: 168 MiB
    expect(offsets.at(-1)).toBe(120 + 3 * MiB); // it ended on the offset the server named last
  });

  it('a server that answers every chunk with `up.offset ID 0` fails the upload (stalled) after a bounded number of rounds', async () => {
    server = await hostile((f, send) => {
      if (f.type === 'up.open' || f.type === 'up.chunk') send(`up.offset ${f.id} 0`);
    });
    const c = client(server.url);
    const p = c.upload(new Blob([bytesOf(64 * 1024)]), { chunkSize: 1024, timeout: 5000 });
    const r = await outcome(p, 3000);
    console.log(`up.offset 0 loop: ${r} after ${server.chunks().length} chunks`);
    expect(r).toBe('stalled'); // before the fix: 'pending', thousands of chunks resent from 0
    // At most the file once (64 chunks may leave before the first answer comes back) and one chunk per repeat.
    expect(server.chunks().length).toBeLessThanOrEqual(64 + REPEATS);
    expect(await until(() => server!.frames.some((f) => f.type === 'up.abort'))).toBe(true);
    expect(server.frames.filter((f) => f.type === 'up.abort')).toHaveLength(1);
    expect(c.state).toBe('open');
  });

  it('20,000 duplicate up.ack frames cost no memory and the upload still completes', async () => {
    const h = honest();
    server = await hostile((f, send) => {
      if (f.type === 'up.chunk' && f.offset === 0) {
        h.script(f, send);
        for (let i = 0; i < 20000; i++) send(`up.ack ${f.id} ${f.bytes.length}`);
        return;
      }
      h.script(f, send);
    });
    const c = client(server.url);
    const blob = new CountingBlob([bytesOf(256 * 1024)]);
    const base = process.memoryUsage().heapUsed;
    let calls = 0;
    const p = c.upload(blob, { chunkSize: 64 * 1024, onProgress: () => void calls++ });
    expect(await outcome(p, 8000)).toBe('resolved');
    expect(calls).toBeGreaterThan(20000); // every ack was acted on, one at a time
    expect(blob.slices).toBe(1); // one pump, never restarted
    expect(process.memoryUsage().heapUsed - base).toBeLessThan(64 * MiB);
  });
});
