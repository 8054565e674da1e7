// `node e2e/cluster.mjs`: heartline/server on Redis, three nodes behind HAProxy (round robin, no
// stickiness), one node SIGKILLed every few seconds and restarted, with the heartline client in
// Node (ws) over each transport: numbered messages both ways and an upload in flight, counted at
// the end (lost, duplicated, reordered; the upload's SHA-256). Then a Redis restart under live
// clients. Prints one line per run, writes test-results/cluster.json, exits 1 on any failure.
// Options: --transports websocket,sse,longpoll  --seconds 15 (chaos time per transport).
// Needs dist/ built (npx rollup -c --silent).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { connect } from '../dist/heartline.mjs';
import { createServer } from '../dist/server.mjs';
import { createRedisEngine } from '../dist/server-redis.mjs';
import { startCluster } from './cluster/cluster.mjs';

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const TRANSPORTS = arg('--transports', 'websocket,sse,longpoll').split(',');
const SECONDS = Number(arg('--seconds', '15'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
class NodeWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.on('error', () => {});
  }
}

/** What arrived, against 1..n: lost, duplicated, reordered (a number after a larger one, first time seen). */
export function audit(got, n) {
  const seen = new Set();
  let dup = 0;
  let reordered = 0;
  let max = 0;
  for (const x of got) {
    if (seen.has(x)) dup++;
    else if (x < max) reordered++;
    seen.add(x);
    max = Math.max(max, x);
  }
  let lost = 0;
  for (let i = 1; i <= n; i++) if (!seen.has(i)) lost++;
  return { lost, dup, reordered };
}

async function until(check, ms) {
  const end = Date.now() + ms;
  while (!(await check()) && Date.now() < end) await sleep(100);
  return check();
}

/** One chaos run over `transport`. */
async function chaos(transport) {
  const cluster = await startCluster({ nodes: 3 });
  const redis = createClient({ url: cluster.redis.url });
  redis.on('error', () => {});
  await redis.connect();
  // The publisher: one more process-local server on the same Redis (it serves no connection).
  const engine = await createRedisEngine({ client: redis, prefix: cluster.prefix });
  const publisher = createServer({ log: engine.log, sessions: engine.sessions, onError: () => {} });
  const got = [];
  const conn = connect(`${cluster.url}/live`, {
    transports: [transport],
    WebSocket: NodeWebSocket,
    reconnect: { initialDelay: 50, maxDelay: 500, maxRetries: Infinity },
  });
  conn.on('message', (d) => void got.push(Number(d)));
  const opens = [];
  const errors = [];
  conn.on('open', (o) => void opens.push(o.resumed));
  conn.on('error', (e) => void errors.push(e.code));
  // Events published before the client's first connection are not its own: start after it.
  await new Promise((resolve) => conn.on('open', resolve));
  const file = randomBytes(3 << 20);
  let faults = 0;
  let sent = 0;
  let published = 0;
  let publishFailures = 0;
  const stop = Date.now() + SECONDS * 1000;
  const upload = conn.upload(new Blob([file]), { name: 'chaos.bin', chunkSize: 64 << 10, timeout: 60000 }).then(
    (r) => ({ ok: true, r }),
    (e) => ({ ok: false, e: String(e) }),
  );
  const killer = (async () => {
    for (let at = Date.now() + 2000; at < stop; at += 3000) {
      await sleep(at - Date.now());
      const i = faults % 3;
      await cluster.kill(i);
      faults++;
      await sleep(1000);
      await cluster.restart(i);
    }
  })();
  while (Date.now() < stop) {
    conn.send(String(++sent));
    try {
      await publisher.publish('default', String(published + 1));
      published++;
    } catch {
      publishFailures++;
    }
    await sleep(20);
  }
  await killer;
  const key = async () => (await redis.sendCommand(['KEYS', `${cluster.prefix}app:msg:*`]));
  const received = async () => {
    const out = [];
    for (const k of await key()) out.push(...(await redis.sendCommand(['LRANGE', k, '0', '-1'])).map(Number));
    return out;
  };
  await until(async () => (await received()).length >= sent && got.length >= published, 30000);
  const up = await Promise.race([upload, sleep(60000).then(() => ({ ok: false, e: 'timeout' }))]);
  const uploads = (await redis.sendCommand(['LRANGE', `${cluster.prefix}app:uploads`, '0', '-1'])).map((x) => JSON.parse(x));
  const sha = createHash('sha256').update(file).digest('hex');
  const result = {
    transport,
    faults,
    sessions: (await key()).length,
    up: { sent, ...audit(await received(), sent) },
    down: { published, publishFailures, ...audit(got, published) },
    opens: opens.length,
    notResumed: opens.filter((x) => !x).length - 1,
    errors: [...new Set(errors)].join(','),
    missing: [...Array(published).keys()].map((i) => i + 1).filter((i) => !got.includes(i)).slice(0, 10),
    upload: { ok: up.ok, error: up.e, sha256Equal: up.ok && up.r.sha256 === sha && uploads.length === 1 && uploads[0].sha256 === sha, onUpload: uploads.length },
  };
  conn.close();
  await publisher.close();
  await engine.close();
  redis.destroy();
  await cluster.stop();
  return result;
}

const results = [];
let failed = 0;
for (const transport of TRANSPORTS) {
  const r = await chaos(transport);
  const ok = r.up.lost + r.up.dup + r.up.reordered + r.down.lost + r.down.dup + r.down.reordered === 0 && r.upload.sha256Equal && r.sessions === 1;
  failed += ok ? 0 : 1;
  results.push({ ...r, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} cluster chaos › node › ${transport}: ${r.faults} SIGKILLs; up ${r.up.sent} sent, lost ${r.up.lost} dup ${r.up.dup} reordered ${r.up.reordered}; down ${r.down.published} published, lost ${r.down.lost} dup ${r.down.dup} reordered ${r.down.reordered}; upload ${r.upload.sha256Equal ? 'SHA-256 equal' : JSON.stringify(r.upload)}; sessions ${r.sessions}; opens ${r.opens} (not resumed ${r.notResumed}) errors ${r.errors} missing ${r.missing}`);
}
mkdirSync('test-results', { recursive: true });
writeFileSync('test-results/cluster.json', JSON.stringify(results, null, 2));
console.log(`cluster: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
