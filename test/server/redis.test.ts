// @vitest-environment node
// The Redis engine against a real redis-server (started here on a free loopback port, stopped by
// PID): events and session cursors shared by two server nodes in this process, a message two
// nodes race for, and Redis stopping and restarting under live connections.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/index.js';
import type { Message } from '../../src/server/index.js';
import { RedisEngineError } from '../../src/server/redis.js';
import { client, next, TRANSPORTS, until } from './helpers.js';
import type { Bus, ReplayLog } from '../../src/server/index.js';
import { createRedisEngine } from '../../src/server/redis.js';
import { start } from './helpers.js';
import { node, redisClient, redisServer, type Node, type RedisProcess } from './redis-helpers.js';

let redis: RedisProcess;
const open: { stop(): unknown }[] = [];
const track = <T extends { stop(): unknown } | { close(): unknown }>(x: T): T => {
  open.push('stop' in x ? x : { stop: () => x.close() });
  return x;
};

beforeAll(async () => {
  redis = await redisServer();
}, 10000);
afterAll(() => redis.stop());
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.stop();
});

/** Two nodes on the same Redis (a fresh key prefix per test), each on its own port. */
async function pair(options: Parameters<typeof node>[1] = {}, engine: Parameters<typeof node>[2] = {}): Promise<[Node, Node]> {
  const prefix = `t${Math.random().toString(36).slice(2)}:`;
  return [track(await node(redis.url, options, { prefix, ...engine })), track(await node(redis.url, options, { prefix, ...engine }))];
}

/** POSTs one message of a session to a node: the answer's `ack N`. */
async function post(n: Node, session: string, seq: number, body = `m${seq}`): Promise<string> {
  const res = await fetch(`${n.url}?heartline=1&session=${session}&seq=${seq}`, { method: 'POST', body });
  return res.text();
}

describe('Redis engine: two nodes', () => {
  for (const transport of TRANSPORTS) {
    it(`an event published on node B reaches a ${transport} client of node A, and a resume on B replays the rest`, async () => {
      const [a, b] = await pair();
      const conn = track(client(a.url, transport));
      await next(conn, 'open');
      const got: string[] = [];
      conn.on('message', (d) => void got.push(String(d)));
      for (let i = 1; i <= 3; i++) await b.live.publish('default', `e${i}`);
      await until(() => got.length === 3, 5000, 'three events');
      const id = conn.lastEventId;
      conn.close();
      for (let i = 4; i <= 6; i++) await a.live.publish('default', `e${i}`);
      const again = track(client(b.url, transport, { lastEventId: id }));
      const opened = next<{ resumed: boolean }>(again, 'open');
      again.on('message', (d) => void got.push(String(d)));
      expect((await opened).resumed).toBe(true);
      await until(() => got.length === 6, 5000, 'six events');
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    });
  }

  it('an event both replayed and delivered late by the bus reaches the client once', async () => {
    const [a] = await pair();
    const prefix = (a.engine.log as unknown as { r: { p: string } }).r.p;
    const redisB = await redisClient(redis.url);
    track({ stop: () => redisB.destroy() });
    const e = await createRedisEngine({ client: redisB, prefix });
    track({ stop: () => e.close() });
    const inner = e.log;
    // Node B's bus hands events over 300 ms late, as on a process busy elsewhere.
    const bus: Bus = {
      listen: (h) => inner.bus!.listen({ ...h, event: (ev) => void setTimeout(() => h.event(ev), 300) }),
      signal: (id, sig) => inner.bus!.signal(id, sig),
    };
    const log: ReplayLog = { get epoch() { return inner.epoch; }, append: (x) => inner.append(x), since: (i, f, l) => inner.since(i, f, l), size: () => inner.size(), close: () => inner.close(), bus };
    const b = track(await start({ log, sessions: e.sessions }));
    const first = track(client(b.url, 'websocket'));
    await next(first, 'open');
    const got: string[] = [];
    first.on('message', (d) => void got.push(String(d)));
    await a.live.publish('default', 'e0');
    await until(() => got.length === 1, 5000, 'e0');
    const id = first.lastEventId;
    first.close();
    await a.live.publish('default', 'e1');
    const again = track(client(b.url, 'websocket', { lastEventId: id }));
    again.on('message', (d) => void got.push(String(d)));
    await next(again, 'open');
    await new Promise((r) => setTimeout(r, 600));
    expect(got).toEqual(['e0', 'e1']);
  });

  it('ids are ordered across nodes and the epoch is shared', async () => {
    const [a, b] = await pair();
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await (i % 2 ? a : b).live.publish('default', String(i)));
    const [epochs, nums] = [new Set(ids.map((x) => x.split('-')[0])), ids.map((x) => Number(x.split('-')[1]))];
    expect(epochs.size).toBe(1);
    expect(nums).toEqual([...nums].sort((x, y) => x - y));
    expect(new Set(nums).size).toBe(20);
  });

  it('a session cursor follows the session: messages sent via node A are not delivered again via node B', async () => {
    const seen: number[] = [];
    let session = '';
    const [a, b] = await pair({ onMessage: (m: Message) => void (seen.push(m.seq), (session = m.session)) });
    const conn = track(client(a.url, 'sse'));
    await next(conn, 'open');
    // The SSE client's POSTs go to A; a resend of one of them, and the next message, land on B.
    for (let i = 1; i <= 3; i++) await conn.sendWithAck(`m${i}`);
    expect(seen).toEqual([1, 2, 3]);
    expect(await post(b, session, 2)).toBe('ack 3');
    expect(await post(b, session, 4)).toBe('ack 4');
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('raw POSTs alternating nodes, with every message sent twice: each delivered once, in order', async () => {
    const seen: string[] = [];
    const [a, b] = await pair({ onMessage: (m: Message) => void seen.push(String(m.data)) });
    const welcome = await (await fetch(`${a.url}?heartline=1&poll=1&open=1`)).text();
    const session = /"session":"([^"]+)"/.exec(welcome)![1]!;
    for (let i = 1; i <= 20; i++) {
      expect(await post(i % 2 ? a : b, session, i)).toBe(`ack ${i}`);
      expect(await post(i % 2 ? b : a, session, i)).toBe(`ack ${i}`); // the resend, on the other node
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
  });

  it('two nodes racing for the same message: the hook runs once, both answer the same ack', async () => {
    let calls = 0;
    const slow = async (): Promise<void> => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 150));
    };
    const [a, b] = await pair({ onMessage: slow });
    const session = /"session":"([^"]+)"/.exec(await (await fetch(`${a.url}?heartline=1&poll=1&open=1`)).text())![1]!;
    for (let i = 1; i <= 5; i++) {
      const answers = await Promise.all([post(a, session, i), post(b, session, i), post(a, session, i), post(b, session, i)]);
      expect(answers).toEqual([`ack ${i}`, `ack ${i}`, `ack ${i}`, `ack ${i}`]);
    }
    expect(calls).toBe(5);
  });

  it('a POSTed ping on node B is answered with a pong on the stream held by node A', async () => {
    const [a, b] = await pair();
    const welcome = await fetch(`${a.url}?heartline=1`, { headers: { Accept: 'text/event-stream' } });
    const reader = welcome.body!.getReader();
    let text = '';
    const read = async (re: RegExp): Promise<void> => {
      while (!re.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await read(/"session":"[^"]+"/);
    const session = /"session":"([^"]+)"/.exec(text)![1]!;
    await fetch(`${b.url}?heartline=1&session=${session}`, { method: 'POST', body: 'ping 42' });
    await read(/pong 42/);
    expect(text).toMatch(/data: pong 42/);
    await reader.cancel();
  });

  it('a long-poll that has no event id yet, taken over by another node, gets what was published since it opened', async () => {
    const [a, b] = await pair();
    const first = await (await fetch(`${a.url}?heartline=1&poll=1&open=1`)).text(); // the log is still empty
    const session = /"session":"([^"]+)"/.exec(first)![1]!;
    await a.live.publish('default', 'e1');
    await b.live.publish('default', 'e2');
    const body = await (await fetch(`${b.url}?heartline=1&poll=1&session=${session}`)).text();
    expect([...body.matchAll(/data: (e\d+)\n/g)].map((m) => m[1])).toEqual(['e1', 'e2']);
  });

  it('a long-poll whose polls alternate between nodes loses and repeats nothing', async () => {
    const [a, b] = await pair();
    const first = await (await fetch(`${a.url}?heartline=1&poll=1&open=1`)).text();
    const session = /"session":"([^"]+)"/.exec(first)![1]!;
    let last = '';
    const got: string[] = [];
    let publishing = (async () => {
      for (let i = 1; i <= 30; i++) await (i % 2 ? a : b).live.publish('default', `e${i}`), await new Promise((r) => setTimeout(r, 5));
    })();
    for (let i = 0; got.length < 30 && i < 200; i++) {
      const body = await (await fetch(`${(i % 2 ? b : a).url}?heartline=1&poll=1&session=${session}&lastEventId=${last}`)).text();
      for (const m of body.matchAll(/id: (\S+)\ndata: (e\d+)\n/g)) (last = m[1]!), got.push(m[2]!);
    }
    await publishing;
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => `e${i + 1}`));
  });
});

describe('Redis engine: uploads shared by two nodes', () => {
  it('chunks POSTed to alternating nodes, each also sent to both at once: one file, its SHA-256 right', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heartline-shared-'));
    track({ stop: () => rmSync(dir, { recursive: true, force: true }) });
    const done: { sha256: string; size: number }[] = [];
    const [a, b] = await pair({ onUpload: (f) => void done.push({ sha256: f.sha256, size: f.size }) }, { uploadsDir: dir });
    const session = /"session":"([^"]+)"/.exec(await (await fetch(`${a.url}?heartline=1&poll=1&open=1`)).text())![1]!;
    const frame = (n: Node, head: string, bytes: Uint8Array = new Uint8Array(0)): Promise<string> =>
      fetch(`${n.url}?heartline=1&session=${session}`, { method: 'POST', body: Buffer.concat([Buffer.from(`${head}\n`), bytes]) }).then((r) => r.text());
    const file = randomBytes(64 * 1024 + 123);
    expect(await frame(a, 'up.open f1', Buffer.from(JSON.stringify({ size: file.length, name: 'x.bin' })))).toBe('up.offset f1 0');
    expect(await frame(b, 'up.open f1', Buffer.from(JSON.stringify({ size: file.length, name: 'x.bin' })))).toBe('up.offset f1 0');
    const step = 8192;
    for (let at = 0, i = 0; at < file.length; at += step, i++) {
      const chunk = file.subarray(at, at + step);
      const answers = await Promise.all([frame(i % 2 ? a : b, `up.chunk f1 ${at} -`, chunk), frame(i % 2 ? b : a, `up.chunk f1 ${at} -`, chunk)]);
      const end = Math.min(at + step, file.length);
      for (const x of answers) expect(x).toMatch(end === file.length ? /^up\.done f1 / : new RegExp(`^up\\.ack f1 ${end}$`));
    }
    expect(done).toEqual([{ sha256: createHash('sha256').update(file).digest('hex'), size: file.length }]);
  });
});

describe('Redis engine: Redis stops and restarts', () => {
  it('publish fails with a typed error while Redis is down; live clients stay open, then resume with resumed: false after a restart', async () => {
    const own = await redisServer();
    const errors: unknown[] = [];
    const a = await node(own.url, { onError: (e) => void errors.push(e) });
    const conns: Connection[] = TRANSPORTS.map((t) => client(a.url, t));
    try {
      await Promise.all(conns.map((c) => next(c, 'open')));
      await a.live.publish('default', 'before');
      const opens = conns.map((c) => next<{ resumed: boolean }>(c, 'open', 15000));
      let closes = 0;
      for (const c of conns) c.on('close', () => void (closes += 1));
      await own.stop();
      await expect(a.live.publish('default', 'x')).rejects.toBeInstanceOf(RedisEngineError);
      await expect(a.live.publish('default', 'x')).rejects.toMatchObject({ code: 'unavailable' });
      await new Promise((r) => setTimeout(r, 500));
      expect(closes).toBe(0); // the nodes keep their connections while Redis is away
      const again = await redisServer(own.port);
      try {
        // Redis came back empty: the nodes' live links end with 1012, the clients reconnect, and
        // their resume from an id of the old epoch is answered resumed: false (a gap, never silent).
        for (const o of await Promise.all(opens)) expect(o.resumed).toBe(false);
        const got: string[] = [];
        for (const c of conns) c.on('message', (d) => void got.push(String(d)));
        await a.live.publish('default', 'after');
        await until(() => got.length === 3, 5000, 'the event after the restart');
        expect(got).toEqual(['after', 'after', 'after']);
      } finally {
        for (const c of conns) c.close();
        await a.stop();
        await again.stop();
      }
    } finally {
      await own.stop();
    }
  }, 30000);
});
