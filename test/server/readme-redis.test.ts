// @vitest-environment node
// The README's "Scaling out" snippet (the ```js redis block), run as written on a real
// redis-server, twice: two nodes of one deployment in this process. Substitutions only where the
// snippet names the outside world: REDIS_URL is the test's redis-server, the shared uploads
// directory a temporary one, port 8080 a free one, and the `heartline/server*` imports this
// repository's source, and the hook's placeholder comment records what it is given. Then what the section promises: a session's connections may land on
// either node (no sticky sessions), a publish on one node reaches clients of the other, and a
// message acknowledged through one node is not delivered again through the other.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeartlineServer } from '../../src/server/index.js';
import { client, next, until } from './helpers.js';
import { redisServer, type RedisProcess } from './redis-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function redisSnippet(): string {
  const text = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const blocks = [...text.matchAll(/^```js redis\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  expect(blocks).toHaveLength(1);
  return blocks[0]!;
}

interface Node {
  live: HeartlineServer;
  server: Server;
  client: { close?(): Promise<unknown>; quit?(): Promise<unknown> };
  url: string;
}

const seen: { node: string; session: string; seq: number; data: string }[] = [];
(globalThis as { __readmeRedis?: typeof seen }).__readmeRedis = seen;
let redis: RedisProcess;
let dir: string;
const nodes: Node[] = [];
const conns: ReturnType<typeof client>[] = [];

async function load(name: string, code: string): Promise<Node> {
  const once = (s: string) => expect(code.split(s).length - 1, s).toBe(1);
  once("from 'heartline/server'");
  once("from 'heartline/server/redis'");
  once("'/mnt/shared/uploads'");
  once('8080');
  const HOOK = '/* exactly once per (m.session, m.seq), see below */';
  once(HOOK);
  const source = code
    .replace(HOOK, `globalThis.__readmeRedis.push({ node: '${name}', session: m.session, seq: m.seq, data: String(m.data) });`)
    .replace("from 'heartline/server'", `from '${resolve(ROOT, 'src/server/index.ts')}'`)
    .replace("from 'heartline/server/redis'", `from '${resolve(ROOT, 'src/server/redis.ts')}'`)
    .replace("'/mnt/shared/uploads'", JSON.stringify(dir))
    .replace('8080', '0');
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, `${source}\nexport { live, server, client };\n`);
  const mod = (await import(/* @vite-ignore */ `${file}?t=${Date.now()}`)) as Omit<Node, 'url'>;
  await until(() => mod.server.listening, 5000, 'listening');
  return { ...mod, url: `http://127.0.0.1:${(mod.server.address() as AddressInfo).port}/live` };
}

beforeAll(async () => {
  redis = await redisServer();
  dir = mkdtempSync(join(tmpdir(), 'heartline-readme-redis-'));
  process.env.REDIS_URL = redis.url;
  const code = redisSnippet();
  nodes.push(await load('node-a', code), await load('node-b', code));
}, 30000);

afterAll(async () => {
  for (const c of conns) c.close();
  for (const n of nodes) {
    await n.live.close();
    n.server.closeAllConnections();
    await new Promise((r) => n.server.close(r));
    await (n.client.close ?? n.client.quit)?.call(n.client);
  }
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30000);

describe('README "Scaling out" snippet, two nodes on one redis-server', () => {
  it('a publish on node A reaches clients of node B over WebSocket, SSE and long-polling, once each', async () => {
    const [a, b] = nodes as [Node, Node];
    const ws = client(b.url, 'websocket');
    const sse = client(b.url, 'sse');
    const poll = client(b.url, 'longpoll');
    conns.push(ws, sse, poll);
    const got = { ws: [] as string[], sse: [] as string[], poll: [] as string[] };
    ws.on('message', (d) => got.ws.push(String(d)));
    sse.on('message', (d) => got.sse.push(String(d)));
    poll.on('message', (d) => got.poll.push(String(d)));
    await Promise.all([next(ws, 'open'), next(sse, 'open'), next(poll, 'open')]);
    await a.live.publish('default', 'one');
    await a.live.publish('default', 'two');
    await until(() => got.ws.length >= 2 && got.sse.length >= 2 && got.poll.length >= 2, 8000, 'delivery on node B');
    await new Promise((r) => setTimeout(r, 300)); // anything duplicated would have arrived by now
    expect(got).toEqual({ ws: ['one', 'two'], sse: ['one', 'two'], poll: ['one', 'two'] });
  });

  it('a session acknowledged through node A resumes on node B without a duplicate or a loss', async () => {
    const [a, b] = nodes as [Node, Node];
    let target = a.url;
    const c = client(() => target, 'websocket');
    conns.push(c);
    await next(c, 'open');
    await c.sendWithAck('m1');
    await c.sendWithAck('m2');
    const dropped = async () => {
      const [x, y] = await Promise.all([a.live.stats(), b.live.stats()]);
      return x.duplicates + x.gaps + y.duplicates + y.gaps;
    };
    const before = await dropped();
    target = b.url; // the balancer sends the next connection to the other node
    c.reconnect();
    await next(c, 'open');
    expect(c.transport).toBe('websocket');
    // B acknowledges 3 only if it knows A delivered 1 and 2 (the shared cursor); else 3 is a gap
    // (never acknowledged) or 1 and 2 go to the application again.
    await c.sendWithAck('m3');
    expect(await dropped()).toBe(before);
    const session = seen[0]?.session;
    expect(seen).toEqual([
      { node: 'node-a', session, seq: 1, data: 'm1' },
      { node: 'node-a', session, seq: 2, data: 'm2' },
      { node: 'node-b', session, seq: 3, data: 'm3' },
    ]);
  });
});
