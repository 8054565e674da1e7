// `node e2e/cluster.mjs`: heartline/server on Redis, three nodes behind HAProxy (round robin, no
// stickiness), one node SIGKILLed every few seconds and restarted, with the heartline client in
// Node (ws) over each transport: numbered messages both ways and an upload in flight, counted at
// the end (lost, duplicated, reordered; the upload's SHA-256). Then a Redis restart under live
// clients. Prints one line per run, writes test-results/cluster.json, exits 1 on any failure.
// The same client runs in Node and in Chromium, Firefox and WebKit (e2e/cluster/page.html).
// Options: --transports websocket,sse,longpoll  --clients node,chromium,firefox,webkit
// --seconds 9 (chaos time per run; a SIGKILL at 2, 5 and 8 s).
// Needs dist/ built (npx rollup -c --silent).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import { chromium, firefox } from '@playwright/test';
import WebSocket from 'ws';
import { connect } from '../dist/heartline.mjs';
import { createServer } from '../dist/server.mjs';
import { createRedisEngine } from '../dist/server-redis.mjs';
import { CHROMIUM, CHROMIUM_ARGS, FIREFOX, FIREFOX_PREFS } from './browsers.mjs';
import { startCluster } from './cluster/cluster.mjs';
import { openWebkitPage, startXvfb } from './proxies/webkit.mjs';

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const TRANSPORTS = arg('--transports', 'websocket,sse,longpoll').split(',');
const SECONDS = Number(arg('--seconds', '9'));
const CLIENTS = arg('--clients', 'node,chromium,firefox,webkit').split(',');
const BROWSERS = {
  node: async () => null,
  chromium: () => chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
  firefox: () => firefox.launch({ channel: 'moz-firefox', executablePath: FIREFOX, firefoxUserPrefs: FIREFOX_PREFS }),
  webkit: async () => ({ open: openWebkitPage, close: async () => {} }),
};
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

/** The file the clients upload: 3 MiB the page generates the same way (page.html). */
function chaosFile() {
  const bytes = new Uint8Array(3 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 11)) & 255;
  return bytes;
}

/** The heartline client in this process, with the page's behaviour (page.html). */
function nodeClient(url, transport) {
  const s = { opened: false, got: [], sent: 0, upload: null, gaps: 0 };
  let timer;
  const conn = connect(`${url}/live`, { transports: [transport], WebSocket: NodeWebSocket, reconnect: { initialDelay: 50, maxDelay: 500, maxRetries: Infinity } });
  conn.on('message', (d) => void s.got.push(Number(d)));
  conn.on('error', (e) => void (e.code === 'gap' && (s.gaps += 1)));
  conn.on('open', () => {
    if (s.opened) return;
    s.opened = true;
    timer = setInterval(() => conn.send(String(++s.sent)), 20);
    conn.upload(new Blob([chaosFile()]), { name: 'chaos.bin', chunkSize: 64 << 10, timeout: 60000 }).then(
      (r) => (s.upload = { ok: true, sha256: r.sha256 }),
      (e) => (s.upload = { ok: false, error: String(e) }),
    );
  });
  return { stop: async () => (clearInterval(timer), s.sent), state: async () => s, close: async () => conn.close() };
}

/** The same client in a browser page served through the balancer. */
async function pageClient(browser, url, transport) {
  const { page, close } = browser.open ? await browser.open() : await (async () => {
    const context = await browser.newContext();
    return { page: await context.newPage(), close: () => context.close() };
  })();
  await page.goto(`${url}/e2e/cluster/page.html`);
  await page.waitForFunction(() => window.__cluster?.ready, undefined, { timeout: 10000 });
  await page.evaluate((t) => window.__cluster.start(t), transport);
  return { stop: () => page.evaluate(() => window.__cluster.stop()), state: () => page.evaluate(() => window.__cluster.state()), close };
}

/** One chaos run over `transport`, the client in Node (`browser` null) or in a browser. */
async function chaos(transport, browser) {
  const cluster = await startCluster({ nodes: 3 });
  const redis = createClient({ url: cluster.redis.url });
  redis.on('error', () => {});
  await redis.connect();
  // The publisher: one more process-local server on the same Redis (it serves no connection).
  const engine = await createRedisEngine({ client: redis, prefix: cluster.prefix });
  const publisher = createServer({ log: engine.log, sessions: engine.sessions, onError: () => {} });
  let client = null;
  try {
    client = browser ? await pageClient(browser, cluster.url, transport) : nodeClient(cluster.url, transport);
    // Events published before the client's first connection are not its own: start after it.
    await until(async () => (await client.state()).opened, 15000);
    let faults = 0;
    let published = 0;
    let publishFailures = 0;
    const stop = Date.now() + SECONDS * 1000;
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
      try {
        await publisher.publish('default', String(published + 1));
        published++;
      } catch {
        publishFailures++;
      }
      await sleep(20);
    }
    await killer;
    const sent = await client.stop();
    const keys = async () => redis.sendCommand(['KEYS', `${cluster.prefix}app:msg:*`]);
    const received = async () => {
      const out = [];
      for (const k of await keys()) out.push(...(await redis.sendCommand(['LRANGE', k, '0', '-1'])).map(Number));
      return out;
    };
    await until(async () => (await received()).length >= sent && (await client.state()).got.length >= published && (await client.state()).upload, 60000);
    const state = await client.state();
    const uploads = (await redis.sendCommand(['LRANGE', `${cluster.prefix}app:uploads`, '0', '-1'])).map((x) => JSON.parse(x));
    const sha = createHash('sha256').update(chaosFile()).digest('hex');
    return {
      transport,
      faults,
      redeliveries: Number((await redis.sendCommand(['GET', `${cluster.prefix}app:redeliveries`])) ?? 0),
      sessions: (await keys()).length,
      up: { sent, ...audit(await received(), sent) },
      down: { published, publishFailures, ...audit(state.got, published), gaps: state.gaps },
      upload: { ...state.upload, sha256Equal: !!state.upload?.ok && state.upload.sha256 === sha && uploads.length === 1 && uploads[0].sha256 === sha, onUpload: uploads.length },
    };
  } finally {
    await client?.close().catch(() => {});
    await publisher.close();
    await engine.close();
    redis.destroy();
    await cluster.stop();
  }
}

/**
 * Redis restarted without persistence under a live client (Node, WebSocket): what the client and
 * the application see. Returns the figures; `ok` when nothing was lost silently or duplicated.
 */
async function redisRestart() {
  const cluster = await startCluster({ nodes: 3 });
  const redis = createClient({ url: cluster.redis.url, disableOfflineQueue: true, socket: { reconnectStrategy: (n) => Math.min(50 * (n + 1), 300) } });
  redis.on('error', () => {});
  await redis.connect();
  const engine = await createRedisEngine({ client: redis, prefix: cluster.prefix });
  const publisher = createServer({ log: engine.log, sessions: engine.sessions, onError: () => {} });
  const got = [];
  const opens = [];
  let gaps = 0;
  const conn = connect(`${cluster.url}/live`, { transports: ['websocket'], WebSocket: NodeWebSocket, reconnect: { initialDelay: 50, maxDelay: 500, maxRetries: Infinity } });
  conn.on('message', (d) => void got.push(Number(d)));
  conn.on('open', (o) => void opens.push(o.resumed));
  conn.on('error', (e) => void (e.code === 'gap' && (gaps += 1)));
  try {
    await until(() => opens.length > 0, 10000);
    for (let i = 1; i <= 50; i++) await publisher.publish('default', String(i));
    await until(() => got.length >= 50, 10000);
    await cluster.redis.stop();
    let failedWhileDown = 0;
    for (let i = 0; i < 5; i++) await publisher.publish('default', 'x').catch(() => (failedWhileDown += 1));
    await cluster.restartRedis();
    await until(() => opens.length > 1 && redis.isReady, 20000);
    for (let i = 51; i <= 100; i++) await publisher.publish('default', String(i)).catch(() => {});
    await until(() => got.length >= 100, 10000);
    const figures = { opens: opens.length, reopenedResumed: opens.slice(1), gaps, failedWhileDown, received: got.length, ...audit(got, 100) };
    return { ...figures, ok: figures.lost + figures.dup + figures.reordered === 0 && failedWhileDown === 5 && gaps >= 1 && !opens.slice(1).includes(true) };
  } finally {
    conn.close();
    await publisher.close();
    await engine.close();
    redis.destroy();
    await cluster.stop();
  }
}

const results = [];
let failed = 0;
let xvfb = null;
if (CLIENTS.includes('webkit') && !process.env.DISPLAY) {
  xvfb = await startXvfb(); // WebKitGTK needs an X display: our own, stopped by PID at the end
  process.env.DISPLAY = xvfb.display;
}
for (const name of CLIENTS) {
  const browser = await BROWSERS[name]();
  try {
    for (const transport of TRANSPORTS) {
      let r;
      try {
        r = await chaos(transport, browser);
      } catch (e) {
        r = { transport, error: String(e?.stack ?? e) };
      }
      const ok = !r.error && r.up.lost + r.up.dup + r.up.reordered + r.down.lost + r.down.dup + r.down.reordered === 0 && r.upload.sha256Equal && r.sessions === 1;
      failed += ok ? 0 : 1;
      results.push({ client: name, ...r, ok });
      console.log(
        r.error
          ? `FAIL cluster chaos › ${name} › ${transport}: ${r.error}`
          : `${ok ? 'ok  ' : 'FAIL'} cluster chaos › ${name} › ${transport}: ${r.faults} SIGKILLs; up ${r.up.sent} sent, lost ${r.up.lost} dup ${r.up.dup} reordered ${r.up.reordered}; down ${r.down.published} published, lost ${r.down.lost} dup ${r.down.dup} reordered ${r.down.reordered}; upload ${r.upload.sha256Equal ? 'SHA-256 equal' : JSON.stringify(r.upload)}; sessions ${r.sessions}; hook re-runs ${r.redeliveries}`,
      );
    }
  } finally {
    await browser?.close();
  }
}
await xvfb?.stop();
if (CLIENTS.includes('node')) {
  let r;
  try {
    r = await redisRestart();
  } catch (e) {
    r = { ok: false, error: String(e?.stack ?? e) };
  }
  failed += r.ok ? 0 : 1;
  results.push({ client: 'node', scenario: 'redis restart', ...r });
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} cluster › node › Redis restarted empty under a live websocket: ${JSON.stringify(r)}`);
}
mkdirSync('test-results', { recursive: true });
writeFileSync('test-results/cluster.json', JSON.stringify(results, null, 2));
console.log(`cluster: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
