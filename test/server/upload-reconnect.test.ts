// @vitest-environment node
// An upload resumed on a new WebSocket while chunk frames of the closed one still wait in its
// queue: what the new connection is told (`up.offset`) must stay true, so its acks never claim
// more than the client sent from that offset (the client fails the upload on such an ack).
import { afterEach, describe, expect, it } from 'vitest';
import type { UploadStore } from '../../src/server/index.js';
import { rawReady, start, until, type Running } from './helpers.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** In-memory upload storage whose writes take `ms` each (a slow disk). */
function slowStore(ms: number): UploadStore {
  return {
    create: () => ({
      path: null,
      write: () => new Promise<void>((r) => setTimeout(r, ms)),
      finish: () => {},
      remove: () => {},
    }),
    close: () => {},
  };
}

const chunk = (id: string, offset: number, bytes: Buffer): Buffer => Buffer.concat([Buffer.from(`up.chunk ${id} ${offset} -\n`), bytes]);

describe('uploads across a reconnect', () => {
  it('chunks still queued on a closed WebSocket are not appended after the new one got its up.offset', async () => {
    running = await start({ uploads: slowStore(40), onUpload: () => {} });
    const size = 10 * 1000;
    const bytes = Buffer.alloc(1000, 7);
    const a = await rawReady(running.url);
    a.ws.send(`up.open u1\n${JSON.stringify({ size })}`);
    await a.frame(/^up\.offset u1 0$/);
    for (let i = 0; i < 6; i += 1) a.ws.send(chunk('u1', i * 1000, bytes));
    await a.frame(/^up\.ack u1 1000$/); // the first is written; five wait in the queue
    a.ws.close(1001);
    await a.closed;
    const b = await rawReady(running.url, { session: a.session });
    b.ws.send(`up.open u1\n${JSON.stringify({ size })}`);
    const held = Number((await b.frame(/^up\.offset u1 \d+$/)).split(' ')[2]);
    await new Promise((r) => setTimeout(r, 400)); // what the closed connection still had queued
    b.ws.send(chunk('u1', held, bytes));
    const ack = Number((await b.frame(/^up\.ack u1 \d+$/)).split(' ')[2]);
    expect(ack).toBe(held + 1000);
    b.ws.close();
    await until(async () => (await running!.live.stats()).connections.websocket === 0, 3000, 'both sockets closed');
  });
});
