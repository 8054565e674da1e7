// `node bench/redis.mjs`: heartline/server on Redis against the in-memory default, on this machine.
// - publish → delivery latency (p50/p99) to a heartline client (Node, WebSocket): one node in
//   memory, against two nodes on Redis (published on A, the client on B: across nodes);
// - publish throughput (sequential awaited publishes, one stream, 100-byte payloads);
// - Redis memory per 1,000 retained events (INFO used_memory before/after, 100-byte payloads).
// Writes bench/results-redis.json. Needs dist/ built. Starts its own redis-server (stopped by PID).
import { writeFileSync } from 'node:fs';
import { createServer as httpServer } from 'node:http';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { connect } from '../dist/heartline.mjs';
import { createServer } from '../dist/server.mjs';
import { createRedisEngine } from '../dist/server-redis.mjs';
import { startRedis } from '../e2e/cluster/start.mjs';

const N = 2000;
const PAYLOAD = 'x'.repeat(100);
class NodeWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.on('error', () => {});
  }
}
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function serve(options) {
  const live = createServer({ onError: () => {}, ...options });
  const http = httpServer(live.handler);
  live.attach(http);
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  return { live, url: `http://127.0.0.1:${http.address().port}/live`, stop: async () => (await live.close(), http.closeAllConnections(), http.close()) };
}

/** Latency of N publishes on `pub`, one at a time, each awaited until the client on `sub` has it. */
async function latency(pub, sub) {
  const conn = connect(sub.url, { transports: ['websocket'], WebSocket: NodeWebSocket });
  await new Promise((r) => conn.on('open', r));
  let waiting = null;
  conn.on('message', () => waiting?.());
  const out = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const got = new Promise((r) => (waiting = r));
    await pub.live.publish('default', PAYLOAD);
    await got;
    out.push(performance.now() - t);
  }
  conn.close();
  return { p50: +pct(out, 50).toFixed(3), p99: +pct(out, 99).toFixed(3) };
}

async function throughput(pub) {
  const t = performance.now();
  for (let i = 0; i < N; i++) await pub.live.publish('tp', PAYLOAD);
  return Math.round(N / ((performance.now() - t) / 1000));
}

const redis = await startRedis();
const clients = [];
const client = async () => {
  const c = createClient({ url: redis.url, disableOfflineQueue: true });
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
};
try {
  const mem = await serve({});
  const memory = { latency: await latency(mem, mem), publishesPerSecond: await throughput(mem) };
  await mem.stop();
  const ea = await createRedisEngine({ client: await client(), prefix: 'b:' });
  const eb = await createRedisEngine({ client: await client(), prefix: 'b:' });
  const a = await serve({ log: ea.log, sessions: ea.sessions });
  const b = await serve({ log: eb.log, sessions: eb.sessions });
  const redisFigures = { latencyAcrossNodes: await latency(a, b), publishesPerSecond: await throughput(a) };
  const probe = await client();
  const used = async () => Number(/used_memory:(\d+)/.exec(await probe.sendCommand(['INFO', 'memory']))[1]);
  const before = await used();
  for (let i = 0; i < 1000; i++) await a.live.publish('mem', PAYLOAD);
  redisFigures.bytesPer1000Events = (await used()) - before;
  await a.stop();
  await b.stop();
  await ea.close();
  await eb.close();
  const results = { date: new Date().toISOString(), events: N, payloadBytes: 100, memory, redis: redisFigures };
  writeFileSync(new URL('./results-redis.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
} finally {
  for (const c of clients) c.destroy();
  await redis.stop();
}
