// @vitest-environment node
// The heartline client (src/) against heartline/server over each transport: messages both ways,
// acknowledgements after the application's hook, a hook that throws, resume after a reconnect.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/server/index.js';
import { client, next, start, TRANSPORTS, until, type Running } from './helpers.js';

let running: Running | undefined;
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await running?.stop();
  running = undefined;
});

describe.each(TRANSPORTS)('over %s', (transport) => {
  it('delivers messages both ways; each ack follows its onMessage hook', async () => {
    const order: string[] = [];
    running = await start({
      heartbeat: 200,
      onMessage: async (m: Message) => {
        await new Promise((r) => setTimeout(r, 20));
        order.push(`hook ${m.data}`);
        await running!.live.send(m.session, `echo ${m.data}`);
      },
    });
    const conn = client(running.url, transport);
    closers.push(() => conn.close());
    const got: string[] = [];
    conn.on('message', (d) => got.push(String(d)));
    await next(conn, 'open');
    await conn.sendWithAck('one').then(() => order.push('ack one'));
    await conn.sendWithAck('two').then(() => order.push('ack two'));
    expect(order).toEqual(['hook one', 'ack one', 'hook two', 'ack two']);
    await running.live.publish('default', 'broadcast');
    await until(() => got.length >= 3, 5000, 'three messages');
    expect(got).toEqual(['echo one', 'echo two', 'broadcast']);
  });
});
