// @vitest-environment node
// Uploads end to end: the heartline client's upload() over each transport into heartline/server,
// the file handed to onUpload (path, size, SHA-256, name, type, metadata), resumed across a drop,
// refusals with their codes, and the raw frames of PROTOCOL.md section 7.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { UploadError } from '../../src/index.js';
import type { UploadedFile } from '../../src/server/index.js';
import { client, next, rawReady, start, TRANSPORTS, until, type Running } from './helpers.js';

let running: Running | undefined;
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await running?.stop();
  running = undefined;
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.each(TRANSPORTS)('upload over %s', (transport) => {
  it('arrives whole and verified; onUpload gets the file, its return joins the result, the file is removed after', async () => {
    const bytes = randomBytes(300 * 1024 + 7);
    const files: (UploadedFile & { content: string; existed: boolean })[] = [];
    running = await start({
      onUpload: (f) => {
        files.push({ ...f, content: sha(readFileSync(f.path!)), existed: existsSync(f.path!) });
        return { url: `/files/${f.id}` };
      },
    });
    const conn = client(running.url, transport);
    closers.push(() => conn.close());
    await next(conn, 'open');
    const blob = new Blob([bytes], { type: 'application/x-test' });
    const result = await conn.upload(blob, { name: 'a.bin', metadata: { k: 1 }, chunkSize: 64 * 1024, verify: true });
    expect(result).toMatchObject({ size: bytes.length, sha256: sha(bytes), name: 'a.bin', type: 'application/x-test', url: expect.stringMatching(/^\/files\//) });
    expect(files).toHaveLength(1);
    const f = files[0]!;
    expect([f.size, f.sha256, f.content, f.existed, f.name, f.metadata]).toEqual([bytes.length, sha(bytes), sha(bytes), true, 'a.bin', { k: 1 }]);
    expect(existsSync(f.path!)).toBe(false);
    expect((await running.live.stats()).uploads).toBe(0);
  });

  it('resumes after the connection drops mid-upload', async () => {
    const bytes = randomBytes(512 * 1024);
    let session = '';
    let dropped = false;
    const chunks: number[] = [];
    running = await start({ onUpload: (f) => void (session = f.session), onMessage: (m) => void (session = m.session) });
    const conn = client(running.url, transport);
    closers.push(() => conn.close());
    await next(conn, 'open');
    await conn.sendWithAck('hi');
    const result = await conn.upload(new Blob([bytes]), {
      chunkSize: 32 * 1024,
      highWaterMark: 32 * 1024,
      onProgress: ({ acknowledged }) => {
        chunks.push(acknowledged);
        if (!dropped && acknowledged >= 128 * 1024) (dropped = true), running!.live.disconnect(session, 1012, 'restart');
      },
    });
    expect(dropped).toBe(true);
    expect(result.sha256).toBe(sha(bytes));
  });

  it('refuses a file over maxUploadSize with 413; a smaller one then succeeds', async () => {
    running = await start({ onUpload: () => {}, limits: { maxUploadSize: 1000 } });
    const conn = client(running.url, transport);
    closers.push(() => conn.close());
    await next(conn, 'open');
    const err = await conn.upload(new Blob([new Uint8Array(1001)])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(String((err as Error).message)).toMatch(/413/);
    await expect(conn.upload(new Blob([new Uint8Array(1000)]))).resolves.toMatchObject({ size: 1000 });
  });
});

describe('upload frames (raw WebSocket)', () => {
  it('a storage failure (create or write) fails the upload with 500 and is reported', async () => {
    const errors: string[] = [];
    let creates = 0;
    running = await start({
      onError: (_e, ctx) => void errors.push(ctx.where),
      onUpload: () => {},
      uploads: {
        create: () => {
          if ((creates += 1) === 1) throw new Error('disk full');
          return { path: null, write: () => Promise.reject(new Error('EIO')), finish: () => {}, remove: () => {} };
        },
        close: () => {},
      },
    });
    const r = await rawReady(running.url);
    r.ws.send('up.open a\n{"size":1}');
    await r.frame(/^up\.error a 500 /);
    r.ws.send('up.open b\n{"size":1}');
    await r.frame(/^up\.offset b 0$/);
    r.ws.send(Buffer.from('up.chunk b 0 -\nx'));
    await r.frame(/^up\.error b 500 /);
    expect(errors).toEqual(['upload', 'upload']);
    expect((await running.live.stats()).uploads).toBe(0);
    r.ws.close();
  });

  it('an onUpload that throws, or returns what JSON cannot carry, fails the upload with 500 and is reported', async () => {
    const errors: string[] = [];
    let calls = 0;
    running = await start({
      onError: (_e, ctx) => void errors.push(ctx.where),
      onUpload: () => {
        calls += 1;
        if (calls === 1) throw new Error('no room');
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        return circular;
      },
    });
    const r = await rawReady(running.url);
    for (const id of ['a', 'b']) {
      r.ws.send(`up.open ${id}\n{"size":1}`);
      r.ws.send(Buffer.from(`up.chunk ${id} 0 -\nx`));
      await r.frame(new RegExp(`^up\\.error ${id} 500 `));
    }
    expect(errors).toEqual(['upload', 'upload']);
    expect((await running.live.stats()).uploads).toBe(0);
    r.ws.close();
  });

  it('answers section 7: offsets, gaps, a bad CHECK (422), unknown ids (404), disabled uploads (403)', async () => {
    running = await start({ onUpload: () => {} });
    const r = await rawReady(running.url);
    const chunk = (id: string, offset: number, check: string, bytes: Buffer) =>
      r.ws.send(Buffer.concat([Buffer.from(`up.chunk ${id} ${offset} ${check}\n`), bytes]));
    r.ws.send('up.open u1\n{"size":8}');
    await r.frame(/^up\.offset u1 0$/);
    chunk('u1', 4, '-', Buffer.alloc(4)); // a gap: nothing stored
    await until(() => r.frames.filter((f) => f === 'up.offset u1 0').length === 2, 5000, 'the gap answer');
    chunk('u1', 0, '0000000300000004', Buffer.from([1, 0, 0, 0, 2, 0, 0, 0]));
    await r.frame(/^up\.done u1 /);
    expect(r.frames.at(-2)).toBe('up.ack u1 8');
    r.ws.send('up.open u2\n{"size":4}');
    chunk('u2', 0, 'ffffffffffffffff', Buffer.alloc(4));
    await r.frame(/^up\.error u2 422 /);
    chunk('zz', 0, '-', Buffer.alloc(1));
    await r.frame(/^up\.error zz 404 /);
    r.ws.send('up.open bad/id\n{"size":1}');
    await r.frame(/^up\.error bad%2Fid 400 /);
    r.ws.close();
    await running.stop();
    running = await start();
    const r2 = await rawReady(running.url);
    r2.ws.send('up.open u1\n{"size":1}');
    await r2.frame(/^up\.error u1 403 /);
    r2.ws.close();
  });
});
