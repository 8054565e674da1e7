// @vitest-environment node
// The heartline client (src/) against heartline/server over each transport: messages both ways,
// acknowledgements after the application's hook, a hook that throws, resume after a reconnect;
// each with the in-memory engines and with the same behind asynchronous calls (async-engines.ts).
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/server/index.js';
import { ENGINES } from './async-engines.js';
import { client, next, start as startServer, TRANSPORTS, until, type Running } from './helpers.js';

let running: Running | undefined;
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await running?.stop();
  running = undefined;
});

const CASES = TRANSPORTS.flatMap((t) => (['memory', 'async'] as const).map((e) => [t, e] as const));

describe.each(CASES)('over %s, %s engines', (transport, engine) => {
  const start = (o: Parameters<typeof startServer>[0] = {}) => startServer({ ...ENGINES[engine](), ...o });

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

  it('a throwing onMessage: not acknowledged, reported, the connection stays; the resend after a reconnect is delivered once', async () => {
    const errors: unknown[] = [];
    const delivered: string[] = [];
    let fail = true;
    running = await start({
      onError: (e, ctx) => errors.push([String(e), ctx.where]),
      onMessage: (m: Message) => {
        if (m.data === 'boom' && fail) {
          fail = false;
          throw new Error('hook failed');
        }
        delivered.push(String(m.data));
      },
    });
    const conn = client(running.url, transport);
    closers.push(() => conn.close());
    await next(conn, 'open');
    let acked = false;
    const p = conn.sendWithAck('boom').then(() => (acked = true));
    await until(() => errors.length === 1, 5000, 'the error report');
    expect(errors).toEqual([['Error: hook failed', 'message']]);
    await new Promise((r) => setTimeout(r, 150));
    expect([acked, conn.state]).toEqual([false, 'open']); // no ack while the hook's failure stands
    conn.reconnect(); // the client resends what is unacknowledged
    await p;
    await conn.sendWithAck('after');
    expect(delivered).toEqual(['boom', 'after']);
  });

  it('resumes after a reconnect: events published meanwhile are replayed, none twice', async () => {
    let session = '';
    running = await start({ onMessage: (m: Message) => void (session = m.session) });
    const conn = client(running.url, transport, { reconnect: { initialDelay: 300, maxDelay: 300, jitter: 0 } });
    closers.push(() => conn.close());
    const got: string[] = [];
    const opens: boolean[] = [];
    conn.on('message', (d) => got.push(String(d)));
    conn.on('open', (info) => opens.push(info.resumed));
    await next(conn, 'open');
    await conn.sendWithAck('hi');
    await running.live.publish('default', 'e1');
    await until(() => got.length === 1, 5000, 'e1');
    expect(running.live.disconnect(session, 1012, 'restarting')).toBe(true);
    await until(() => conn.state !== 'open', 5000, 'the drop');
    for (const e of ['e2', 'e3', 'e4']) await running.live.publish('default', e);
    await until(() => got.length === 4, 5000, 'the replay');
    await running.live.publish('default', 'e5');
    await until(() => got.length === 5, 5000, 'e5');
    expect(got).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(opens).toEqual([false, true]);
  });

  it('a resume across epochs (a restarted server) answers resumed:false', async () => {
    running = await start();
    const { port } = running;
    const conn = client(running.url, transport, { reconnect: { initialDelay: 100, maxDelay: 100, jitter: 0 } });
    closers.push(() => conn.close());
    const opens: boolean[] = [];
    conn.on('open', (info) => opens.push(info.resumed));
    const got: string[] = [];
    conn.on('message', (d) => got.push(String(d)));
    await next(conn, 'open');
    await running.live.publish('default', 'before');
    await until(() => got.length === 1, 5000, 'before');
    const epoch = conn.lastEventId.split('-')[0];
    await running.stop();
    running = await start({ port });
    await until(() => opens.length === 2, 8000, 'the second open');
    expect(opens).toEqual([false, false]);
    await running.live.publish('default', 'after');
    await until(() => got.length === 2, 5000, 'after');
    expect(conn.lastEventId.split('-')[0]).not.toBe(epoch);
  });
});

