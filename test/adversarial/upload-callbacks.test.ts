// @vitest-environment node
// The class "every callback the app provides may throw or re-enter", for `onProgress`: it aborts
// its own upload, closes the connection, starts another upload, throws — against a real protocol
// server. Each upload settles once, with the outcome the app asked for, and no chunk leaves after.
import { afterEach, describe, expect, it } from 'vitest';
import { HeartlineError } from '../../src/index';
import type { Connection, UploadOptions } from '../../src/index';
import { bytesOf, client, closeAll, honest, hostile, outcome } from './upload-server';
import type { Hostile } from './upload-server';

let server: Hostile | undefined;
afterEach(async () => {
  closeAll();
  await server?.stop();
  server = undefined;
});

/** An honest server; `conn` is a connection to it. */
const setup = async (): Promise<Connection> => {
  server = await hostile(honest().script);
  return client(server.url);
};
const chunksAfterAbort = (h: Hostile): number => {
  const i = h.frames.findIndex((f) => f.type === 'up.abort');
  return i < 0 ? -1 : h.frames.slice(i).filter((f) => f.type === 'up.chunk').length;
};
const settledTwice = (p: Promise<unknown>, log: string[]): Promise<unknown> =>
  p.then(
    () => log.push('resolved'),
    () => log.push('rejected'),
  );
const file = (n = 64 * 1024) => new Blob([bytesOf(n)]);
const small: UploadOptions = { chunkSize: 1024, highWaterMark: 2048 };

describe('adversarial uploads: onProgress re-enters', () => {
  it('aborting its own upload from onProgress (on the server’s first answer) stops it: no chunk after up.abort', async () => {
    const c = await setup();
    const ac = new AbortController();
    const p = c.upload(file(), { ...small, signal: ac.signal, onProgress: () => ac.abort() });
    expect(await outcome(p, 3000)).toBe('aborted');
    await new Promise((r) => setTimeout(r, 100)); // what a runaway pump would send meanwhile
    const after = chunksAfterAbort(server!);
    console.log(`abort from onProgress: ${after} chunk(s) after up.abort, ${server!.chunks().length} in all`);
    expect(after).toBe(0); // before the fix: the whole file (64 chunks) after up.abort
    expect(server!.frames.filter((f) => f.type === 'up.abort')).toHaveLength(1);
  });

  it('aborting from onProgress once the server has the whole file changes nothing: it resolves, no up.abort', async () => {
    const c = await setup();
    const ac = new AbortController();
    let full = 0;
    const p = c.upload(file(4096), {
      ...small,
      signal: ac.signal,
      // The first call with everything acknowledged is up.ack's, the second up.done's.
      onProgress: ({ acknowledged, total }) => acknowledged === total && ++full === 2 && ac.abort(),
    });
    expect(await outcome(p, 3000)).toBe('resolved'); // before the fix: 'aborted', and up.abort for a finished file
    expect(full).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(server!.frames.filter((f) => f.type === 'up.abort')).toHaveLength(0);
  });

  it('closing the connection from onProgress rejects the upload once (closed) and sends nothing more', async () => {
    const c = await setup();
    const log: string[] = [];
    const p = c.upload(file(), { ...small, onProgress: ({ acknowledged }) => acknowledged >= 4096 && c.close() });
    await settledTwice(p, log);
    expect(await outcome(p, 100)).toBe('closed');
    const n = server!.chunks().length;
    await new Promise((r) => setTimeout(r, 100));
    expect(server!.chunks().length).toBe(n);
    expect(log).toEqual(['rejected']);
    expect(c.state).toBe('closed');
  });

  it('starting more uploads from onProgress works: every upload resolves once', async () => {
    const c = await setup();
    const more: Promise<unknown>[] = [];
    const p = c.upload(file(), {
      ...small,
      onProgress: () => void (more.length < 3 && more.push(c.upload(file(8192), small))),
    });
    expect(await outcome(p, 5000)).toBe('resolved');
    expect(more).toHaveLength(3);
    expect(await Promise.all(more.map((x) => outcome(x, 5000)))).toEqual(['resolved', 'resolved', 'resolved']);
  });

  it('an onProgress that throws and aborts another upload mid-frame strands neither', async () => {
    const c = await setup();
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    const ac = new AbortController();
    const other = c.upload(file(), { ...small, signal: ac.signal });
    const p = c.upload(file(8192), {
      ...small,
      onProgress: ({ acknowledged }) => {
        if (acknowledged >= 2048) ac.abort();
        throw new Error('app bug');
      },
    });
    expect(await Promise.all([outcome(p, 5000), outcome(other, 5000)])).toEqual(['resolved', 'aborted']);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e instanceof HeartlineError && e.code === 'listener')).toBe(true);
  });
});
