#!/usr/bin/env node
// heartline benchmarks (issue 7): real Chromium against local servers, heartline next to the raw
// browser APIs and its competitors, interleaved in one run; medians and ratios to raw.
//
//   node bench/run.mjs            full run (about 8-10 minutes on 2 cores)
//   node bench/run.mjs --quick    the same scenarios, fewer and smaller rounds (< 2 minutes)
//   --readme   also rewrite the generated results section of bench/README.md from this run
//   development (a partial run writes bench/results/dev.* instead of latest.*):
//   --only=storm,instrumentation,throughput,reconnect,blackhole,idle,upload,server   --scenarios=ws-recv-small,…
//   --max=N   the server capacity run stops at N connections (default 100000; see bench/server.mjs)
//   --contestants=raw-ws,heartline   --rounds=N   --sweep (the upload defaults sweep in a quick or partial run)
//
// Writes bench/results/latest.json, bench/results/latest.md and bench/results/storm.svg; the server
// part (bench/server.mjs: heartline/server against raw ws, res.write and socket.io) also
// bench/results/server.{json,md}.
// How and why it measures the way it does: bench/README.md.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, CHROMIUM, CHROMIUM_ARGS } from './lib/browser.mjs';
import { buildBundles } from './lib/bundle.mjs';
import { renderMarkdown, updateReadme } from './lib/report.mjs';
import { startBenchServer } from './lib/server.mjs';
import { median } from './lib/stats.mjs';
import { startVictim } from './lib/victim.mjs';
import { CONTESTANTS, HEARTLINE_SSE_READY } from './pages/contestants.mjs';
import { runServerBench, serverMarkdown, writeServerResults } from './server.mjs';
import { runStorm, stormSvg } from './storm.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const want = (phase) => !only || only.includes(phase);
const onlyScenarios = argv.find((a) => a.startsWith('--scenarios='))?.slice(12).split(','); // e.g. ws-recv-small (development)
const onlyContestants = argv.find((a) => a.startsWith('--contestants='))?.slice(14).split(','); // e.g. raw-ws,heartline (development)
const roundsArg = +(argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 0);
// development: extra query for every upload page, e.g. --upload-query=server=lean (pages/upload.mjs)
const uploadQuery = Object.fromEntries(new URLSearchParams(argv.find((a) => a.startsWith('--upload-query='))?.slice(15) ?? ''));

const CFG = QUICK
  ? { rounds: 2, small: 10000, large: 300, instrN: 10000, instrRounds: 1, reconnectRounds: 1, reconnectCapMs: 15000, restartDownMs: 1000, bhRounds: 1, bhCapMs: 40000, idleWindowMs: 30000, settleMs: 1500, uploadMiB: 64, uploadRounds: 2, sweepRounds: 0 }
  : { rounds: 6, small: 100000, large: 2000, instrN: 30000, instrRounds: 3, reconnectRounds: 5, reconnectCapMs: 20000, restartDownMs: 1000, bhRounds: 2, bhCapMs: 60000, idleWindowMs: 60000, settleMs: 1500, uploadMiB: 256, uploadRounds: 5, sweepRounds: 3 };
if (argv.includes('--sweep') && !CFG.sweepRounds) CFG.sweepRounds = 2;

if (roundsArg) CFG.rounds = CFG.uploadRounds = roundsArg;
// A partial run (any of the development flags) must not overwrite the published results.
const PARTIAL = Boolean(only || onlyScenarios || onlyContestants || roundsArg || Object.keys(uploadQuery).length);
const OUT = PARTIAL ? 'dev' : 'latest';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${((Date.now() - T0) / 1000).toFixed(0).padStart(4)} s]`, ...a);
const T0 = Date.now();

// ---------------------------------------------------------------------------------------------
// Scenarios

const WS_CONTESTANTS = ['raw-ws', 'heartline', 'partysocket', 'rws', 'socketio'];
const SSE_CONTESTANTS = ['raw-sse', 'fes', 'heartline-sse'];
const THROUGHPUT = [
  { key: 'ws-recv-small', title: `WebSocket receive: ${CFG.small.toLocaleString('en')} × 100 B JSON`, task: 'recv', n: CFG.small, size: 100, contestants: WS_CONTESTANTS, baseline: 'raw-ws', target: 0.95 },
  { key: 'ws-recv-large', title: `WebSocket receive: ${CFG.large.toLocaleString('en')} × 64 KiB JSON`, task: 'recv', n: CFG.large, size: 65536, contestants: WS_CONTESTANTS, baseline: 'raw-ws' },
  { key: 'ws-send-small', title: `WebSocket send: ${CFG.small.toLocaleString('en')} × 100 B JSON`, task: 'send', n: CFG.small, size: 100, contestants: WS_CONTESTANTS, baseline: 'raw-ws', target: 0.95 },
  { key: 'sse-recv-small', title: `SSE receive: ${CFG.small.toLocaleString('en')} × 100 B JSON events`, task: 'recv', n: CFG.small, size: 100, contestants: SSE_CONTESTANTS, baseline: 'raw-sse', target: 0.9 },
  { key: 'sse-recv-large', title: `SSE receive: ${CFG.large.toLocaleString('en')} × 64 KiB JSON events`, task: 'recv', n: CFG.large, size: 65536, contestants: SSE_CONTESTANTS, baseline: 'raw-sse' },
];
const RECONNECT = [
  ['raw-ws', 'defaults'], ['heartline', 'defaults'], ['heartline', 'tuned'], ['partysocket', 'defaults'], ['partysocket', 'tuned'],
  ['rws', 'defaults'], ['rws', 'tuned'], ['socketio', 'defaults'], ['socketio', 'tuned'], ['raw-sse', 'defaults'], ['raw-sse', 'tuned'],
  ['fes', 'defaults'], ['fes', 'tuned'], ['heartline-sse', 'defaults'], ['heartline-sse', 'tuned'],
];
const BLACKHOLE = [
  ['raw-ws', 'defaults'], ['heartline', 'defaults'], ['heartline', 'tight'], ['socketio', 'defaults'], ['socketio', 'tight'],
  ['partysocket', 'defaults'], ['rws', 'defaults'], ['raw-sse', 'defaults'], ['fes', 'defaults'], ['heartline-sse', 'defaults'], ['heartline-sse', 'tight'],
];
const IDLE = [
  ['raw-ws', 'defaults'], ['heartline', 'defaults'], ['heartline', 'quiet'], ['partysocket', 'defaults'], ['rws', 'defaults'],
  ['socketio', 'defaults'], ['raw-sse', 'defaults'], ['fes', 'defaults'], ['heartline-sse', 'defaults'],
];
const IDLE_SETTLE_MS = 6000;
// Upload: the raw gated loop is the baseline, heartline runs next to it; then the defaults sweep.
// heartline-up-lean: heartline against a server that acknowledges and discards, like the raw loop's sink.
const UPLOAD_CONTESTANTS = ['raw-ws-up', 'heartline-up', 'heartline-up-lean', 'fetch-up', 'tus'];
const UPLOAD_TARGETS = { ratio: 0.9, heapGrowthMiB: 32, rttMs: 100 };
const KiB = 1024;
const MiB = 1024 * 1024;
const SWEEP = [256 * KiB, MiB, 4 * MiB].flatMap((chunk) => [MiB, 2 * MiB, 4 * MiB, 8 * MiB].map((hwm) => ({ chunk, hwm })));
const pending = (name) => CONTESTANTS[name].pending;
const describe = (name, preset) => CONTESTANTS[name].presets[preset]?.describe ?? '';

// ---------------------------------------------------------------------------------------------
// Plumbing

let browser;
let srv;
let seq = 0;
const cleanups = [];
const pageUrl = (params) => `${srv.origin}/pages/bench.html?${new URLSearchParams(params)}`;

async function cleanup() {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
}
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => cleanup().then(() => process.exit(130)));

/** One throughput trial in a fresh, uninstrumented page. */
async function trial(name, task, n, size, open = (u) => browser.open(u), close = (t) => browser.close(t), cpu = true) {
  const c = CONTESTANTS[name];
  const id = `t${++seq}`;
  const wsOrigin = srv.origin.replace('http:', 'ws:');
  const url =
    c.kind === 'sse' ? `${srv.origin}/sse/recv?n=${n}&size=${size}&id=${id}` : c.kind === 'sio' ? `${srv.origin}/?mode=${task}&n=${n}&size=${size}` : `${wsOrigin}/ws/${task}?n=${n}&size=${size}`;
  const timeout = Math.max(60000, n * 2); // at least 500 messages/s, else it is reported as timed out
  // CPU time of Chromium's processes and of this Node process (the servers) over the page's window.
  let cpu0;
  const started = srv.waitResult(`${id}:t0`, timeout).then(
    () => (cpu0 = { browser: browser.cpuMs(), node: process.cpuUsage() }),
    () => {},
  );
  const target = await open(pageUrl({ task, c: name, preset: 'throughput', url, n, size, id, sid: id, timeout }));
  try {
    const res = await srv.waitResult(id, timeout + 30000);
    if (!res.error) await started;
    if (cpu && cpu0 && !res.error) {
      const node = process.cpuUsage(cpu0.node);
      res.browserCpuMs = browser.cpuMs() - cpu0.browser;
      res.serverCpuMs = (node.user + node.system) / 1000;
    }
    return res;
  } catch (e) {
    return { error: e.message };
  } finally {
    await close(target);
  }
}

async function throughputScenario(s) {
  const active = s.contestants.filter((c) => !pending(c) && (!onlyContestants || onlyContestants.includes(c)));
  const runs = Object.fromEntries(active.map((c) => [c, []]));
  // heartline always runs right next to the baseline (A B, then
  // B A next round: A B B A A B …); the others follow in an order that rotates every round.
  const targeted = active.find((c) => c !== s.baseline && c.startsWith('heartline'));
  const others = active.filter((c) => c !== s.baseline && c !== targeted);
  for (let r = 0; r < CFG.rounds; r++) {
    const rotated = others.map((_, i) => others[(i + r) % others.length]);
    const pair = targeted ? [s.baseline, targeted] : [s.baseline];
    const order = r % 2 ? [...rotated, ...pair.reverse()] : [...pair, ...rotated];
    for (const c of order) {
      const res = await trial(c, s.task, s.n, s.size);
      runs[c].push(res);
      log(`  ${s.key} round ${r + 1}/${CFG.rounds} ${c}: ${res.error ? `ERROR ${res.error.split('\n')[0]}` : `${Math.round(res.rate).toLocaleString('en')} msg/s, lost ${res.lost}, out of order ${res.outOfOrder}`}`);
      await sleep(150);
    }
  }
  const base = runs[s.baseline];
  const rows = s.contestants.filter((c) => pending(c) || active.includes(c)).map((c) => {
    if (pending(c)) return { contestant: c, label: CONTESTANTS[c].label, pending: pending(c), setup: describe(c, 'throughput') };
    const ok = runs[c].filter((x) => !x.error);
    const rates = ok.map((x) => x.rate);
    const ratios = runs[c].map((x, i) => (x.error || base[i].error ? null : x.rate / base[i].rate)).filter((v) => v !== null);
    // Chromium CPU time per 1,000 messages, and its ratio to the baseline's in the same round.
    const cpuPerK = ok.filter((x) => x.browserCpuMs > 0).map((x) => (x.browserCpuMs / x.count) * 1000);
    const cpuRatios = runs[c]
      .map((x, i) => (x.error || base[i].error || !(x.browserCpuMs > 0) || !(base[i].browserCpuMs > 0) ? null : x.browserCpuMs / x.count / (base[i].browserCpuMs / base[i].count)))
      .filter((v) => v !== null);
    return {
      contestant: c,
      label: CONTESTANTS[c].label,
      setup: describe(c, 'throughput'),
      rate: median(rates),
      mbps: median(rates) * (s.size / 1e6),
      rates,
      ratio: c === s.baseline ? 1 : median(ratios),
      ratios,
      cpuPerK: median(cpuPerK),
      cpuRatio: c === s.baseline ? 1 : median(cpuRatios),
      cpuRatios,
      serverCpuPerK: median(ok.filter((x) => x.serverCpuMs > 0).map((x) => (x.serverCpuMs / x.count) * 1000)),
      lost: ok.reduce((a, x) => a + x.lost, 0),
      outOfOrder: ok.reduce((a, x) => a + x.outOfOrder, 0),
      errors: runs[c].filter((x) => x.error).map((x) => x.error.split('\n')[0]),
      timedOut: ok.filter((x) => x.timedOut).length,
    };
  });
  return { key: s.key, title: s.title, task: s.task, n: s.n, size: s.size, baseline: s.baseline, target: s.target, rounds: CFG.rounds, rows };
}

/**
 * The measuring-trap check (../shared/MEASURED.md): raw WebSocket receive in our pages vs in pages
 * opened through Playwright (which enables the CDP Network domain), A B A B.
 */
async function instrumentationCheck() {
  const { chromium } = await import('@playwright/test');
  const pw = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  cleanups.push(() => pw.close());
  const ctx = await pw.newContext();
  const ours = [];
  const playwright = [];
  try {
    for (let r = 0; r < CFG.instrRounds; r++) {
      ours.push(await trial('raw-ws', 'recv', CFG.instrN, 100));
      playwright.push(
        await trial(
          'raw-ws',
          'recv',
          CFG.instrN,
          100,
          async (u) => {
            const page = await ctx.newPage();
            await page.goto(u);
            return page;
          },
          (page) => page.close(),
          false,
        ),
      );
      log(`  instrumentation round ${r + 1}: uninstrumented ${Math.round(ours.at(-1).rate)} msg/s, Playwright page ${Math.round(playwright.at(-1).rate)} msg/s`);
    }
  } finally {
    await pw.close();
    cleanups.pop();
  }
  const rate = (xs) => median(xs.filter((x) => !x.error).map((x) => x.rate));
  return { n: CFG.instrN, rounds: CFG.instrRounds, uninstrumented: rate(ours), playwright: rate(playwright), errors: [...ours, ...playwright].filter((x) => x.error).map((x) => x.error) };
}

/** Opens a victim server and a live page connected to it; resolves once the page says ready. */
async function livePage(name, preset, watch, extra = {}) {
  const c = CONTESTANTS[name];
  const p = c.presets[preset];
  const victim = await startVictim({ kind: c.kind, ...(p.victim ?? {}) });
  const url = c.kind === 'ws' ? `ws://127.0.0.1:${victim.port}/` : c.kind === 'sio' ? victim.origin : `${victim.origin}/sse`;
  const id = `l${++seq}`;
  const target = await browser.open(pageUrl({ task: 'live', c: name, preset, url, id, watch, settle: CFG.settleMs, ...extra }));
  const ready = await srv.waitResult(`${id}:ready`, 30000).catch((e) => ({ error: e.message }));
  return {
    name,
    preset,
    victim,
    id,
    ready,
    async stop() {
      await browser.close(target);
      await victim.stop();
    },
  };
}

const pendingRows = (list) =>
  list.filter(([c]) => pending(c)).map(([c, p]) => ({ contestant: c, label: CONTESTANTS[c].label, preset: p, setup: describe(c, p), pending: pending(c) }));

async function reconnectPhase() {
  const active = RECONNECT.filter(([c]) => !pending(c));
  const out = {};
  for (const mode of ['clean', 'restart']) {
    const samples = active.map(() => []);
    for (let r = 0; r < CFG.reconnectRounds; r++) {
      const lives = await Promise.all(active.map(([c, p]) => livePage(c, p, 'none')));
      try {
        await sleep(300);
        if (mode === 'clean') {
          const t0 = lives.map((l) => l.victim.closeClean());
          const t1 = await Promise.all(lives.map((l, i) => l.victim.nextConnect(t0[i], CFG.reconnectCapMs)));
          t1.forEach((t, i) => samples[i].push(lives[i].ready.error ? { error: lives[i].ready.error } : { ms: t === null ? null : t - t0[i] }));
        } else {
          // (A port taken by someone else during the pause fails that client's sample, not the run.)
          const downs = await Promise.all(lives.map((l) => l.victim.restart(CFG.restartDownMs).catch((e) => ({ error: `restart: ${e.message}` }))));
          const t1 = await Promise.all(lives.map((l, i) => (downs[i].error ? null : l.victim.nextConnect(downs[i].killed, CFG.reconnectCapMs))));
          t1.forEach((t, i) => {
            const error = lives[i].ready.error ?? downs[i].error;
            samples[i].push(error ? { error } : t === null ? { ms: null, total: null } : { ms: t - downs[i].up, total: t - downs[i].killed });
          });
        }
        log(`  reconnect ${mode} round ${r + 1}/${CFG.reconnectRounds}: ${active.map(([c, p], i) => `${c}/${p} ${fmtMs(samples[i].at(-1).ms)}`).join(', ')}`);
      } finally {
        await Promise.all(lives.map((l) => l.stop()));
      }
    }
    out[mode] = [
      ...active.map(([c, p], i) => {
        const ok = samples[i].filter((s) => !s.error);
        const got = ok.filter((s) => s.ms !== null);
        return {
          contestant: c,
          label: CONTESTANTS[c].label,
          preset: p,
          setup: describe(c, p),
          median: got.length === ok.length && ok.length ? median(got.map((s) => s.ms)) : null,
          samples: ok.map((s) => s.ms),
          totals: mode === 'restart' ? ok.map((s) => s.total) : undefined,
          medianTotal: mode === 'restart' && got.length === ok.length && ok.length ? median(got.map((s) => s.total)) : undefined,
          missed: ok.length - got.length,
          errors: samples[i].filter((s) => s.error).map((s) => s.error),
        };
      }),
      ...pendingRows(RECONNECT),
    ];
  }
  return { rounds: CFG.reconnectRounds, capMs: CFG.reconnectCapMs, downMs: CFG.restartDownMs, ...out };
}

async function blackholePhase() {
  const active = BLACKHOLE.filter(([c]) => !pending(c));
  const samples = active.map(() => []);
  for (let r = 0; r < CFG.bhRounds; r++) {
    const lives = await Promise.all(active.map(([c, p]) => livePage(c, p, 'detect')));
    try {
      await sleep(500);
      const at = lives.map((l) => l.victim.blackhole());
      const got = await Promise.all(
        lives.map((l, i) =>
          srv.waitResult(`${l.id}:detected`, Math.max(1, CFG.bhCapMs - (Date.now() - at[i]))).then(
            (d) => ({ ms: d.at - at[i], info: d.info }),
            () => ({ ms: null }),
          ),
        ),
      );
      got.forEach((g, i) => samples[i].push(lives[i].ready.error ? { error: lives[i].ready.error } : g));
      log(`  black-hole round ${r + 1}/${CFG.bhRounds}: ${active.map(([c, p], i) => `${c}/${p} ${fmtMs(samples[i].at(-1).ms)}`).join(', ')}`);
    } finally {
      await Promise.all(lives.map((l) => l.stop()));
    }
  }
  return {
    rounds: CFG.bhRounds,
    capMs: CFG.bhCapMs,
    rows: [
      ...active.map(([c, p], i) => {
        const ok = samples[i].filter((s) => !s.error);
        const det = ok.filter((s) => s.ms !== null);
        return {
          contestant: c,
          label: CONTESTANTS[c].label,
          preset: p,
          setup: describe(c, p),
          median: det.length === ok.length && ok.length ? median(det.map((s) => s.ms)) : null,
          samples: ok.map((s) => s.ms),
          how: det.map((s) => s.info),
          missed: ok.length - det.length,
          errors: samples[i].filter((s) => s.error).map((s) => s.error),
        };
      }),
      ...pendingRows(BLACKHOLE),
    ],
  };
}

async function idlePhase() {
  const active = IDLE.filter(([c]) => !pending(c));
  const lives = await Promise.all(
    active.map(async ([c, p]) => {
      // A longer settle: start-up timers (partysocket's minUptime 5 s, socket.io's upgrade probe)
      // are one-offs, not idle cost; the window starts after them.
      const l = await livePage(c, p, 'idle', { window: CFG.idleWindowMs, settle: IDLE_SETTLE_MS });
      l.bytes0 = l.victim.bytes();
      return l;
    }),
  );
  try {
    const rows = await Promise.all(
      lives.map(async (l) => {
        const base = { contestant: l.name, label: CONTESTANTS[l.name].label, preset: l.preset, setup: describe(l.name, l.preset) };
        if (l.ready.error) return { ...base, error: l.ready.error };
        const r = await srv.waitResult(`${l.id}:idle`, CFG.idleWindowMs + 30000).catch((e) => ({ error: e.message }));
        if (r.error) return { ...base, error: r.error };
        const bytes = l.victim.bytes() - l.bytes0;
        const perMin = 60000 / r.windowMs;
        return { ...base, windowMs: r.windowMs, wakeups: r.wakeups, bytes, wakeupsPerMin: r.wakeups * perMin, bytesPerMin: bytes * perMin, stillOpen: l.victim.open };
      }),
    );
    log(`  idle: ${rows.map((r) => `${r.contestant}/${r.preset} ${r.error ? 'ERROR' : `${r.wakeups} wake-ups, ${r.bytes} B`}`).join(', ')}`);
    return { windowMs: CFG.idleWindowMs, extrapolated: CFG.idleWindowMs !== 60000, rows: [...rows, ...pendingRows(IDLE)] };
  } finally {
    await Promise.all(lives.map((l) => l.stop()));
  }
}

/** The e2e fixture server (heartline protocol, section 7 uploads), imported on first use. */
let fixtureServer;
async function startFixture() {
  fixtureServer ??= (await import('../e2e/server.mjs')).startServer;
  return fixtureServer();
}

/**
 * One upload in a fresh, uninstrumented page (pages/upload.mjs). heartline gets a fixture server of
 * its own per trial (its temp files go when it stops).
 */
async function uploadTrial(name, { chunk, hwm } = {}) {
  const id = `u${++seq}`;
  const wsOrigin = srv.origin.replace('http:', 'ws:');
  const bytes = CFG.uploadMiB * MiB;
  const timeout = 180000;
  let fixture;
  try {
    let url;
    if (name === 'heartline-up-lean' || (name === 'heartline-up' && uploadQuery.server === 'lean')) url = `${wsOrigin}/up/hl`;
    else if (name === 'heartline-up') {
      fixture = await startFixture();
      url = `ws://127.0.0.1:${fixture.port}/hl/bench?echo=0&key=${id}`;
    } else if (name === 'raw-ws-up') url = `${wsOrigin}/up/ws?size=${bytes}`;
    else if (name === 'fetch-up') url = `${srv.origin}/up/post`;
    else url = `${srv.origin}/up/tus/`;
    let cpu0;
    const started = srv.waitResult(`${id}:t0`, timeout).then(
      () => (cpu0 = { browser: browser.cpuMs(), node: process.cpuUsage() }),
      () => {},
    );
    const params = { task: 'upload', c: name, preset: 'upload', url, echo: `${wsOrigin}/up/ws?size=-1`, size: CFG.uploadMiB, id, timeout, ...uploadQuery };
    if (chunk) Object.assign(params, { chunk, hwm });
    const target = await browser.open(pageUrl(params));
    // JS heap (V8 heap used + ArrayBuffer backing stores), every 50 ms from the baseline the page
    // asks for (after its gc()) to the end of its timed window.
    const probe = await browser.heapProbe(target);
    let heap0 = null;
    let peak = null;
    let sampling = true;
    const baseTaken = srv.waitResult(`${id}:base`, timeout).then(
      async () => ((heap0 = await probe.sample()), (peak = heap0)),
      () => {},
    );
    const ended = srv.waitResult(`${id}:t1`, timeout + 30000).then(() => void (sampling = false), () => {});
    const sampler = (async () => {
      await baseTaken;
      while (sampling && heap0) {
        const h = await probe.sample().catch(() => null);
        if (h && sampling && h.total > peak.total) peak = h;
        await Promise.race([sleep(50), ended]);
      }
    })();
    try {
      const res = await srv.waitResult(id, timeout + 30000);
      if (!res.error) await started;
      if (cpu0 && !res.error) {
        const node = process.cpuUsage(cpu0.node);
        res.browserCpuMs = browser.cpuMs() - cpu0.browser;
        res.serverCpuMs = (node.user + node.system) / 1000;
      }
      sampling = false;
      await sampler;
      if (heap0) Object.assign(res, { heap0: heap0.total, heapPeak: peak.total, heapGrowth: peak.total - heap0.total, heapPeakUsed: peak.used, heapPeakBacking: peak.backing });
      else if (!res.error) res.error = 'no heap baseline';
      return res;
    } finally {
      sampling = false;
      await probe.detach();
      await browser.close(target);
    }
  } catch (e) {
    return { error: e.message };
  } finally {
    await fixture?.stop().catch(() => {});
  }
}

const fmtUp = (r) =>
  r.error
    ? `ERROR ${r.error.split('\n')[0]}`
    : `${r.mbps.toFixed(0)} MB/s, heap +${(r.heapGrowth / MiB).toFixed(1)} MiB, RTT median ${fmtMs(r.rttMedian)} max ${fmtMs(r.rttMax)} (${r.rtts.length} pings)` +
      (r.heartbeats ? `, ${r.heartbeats.length} heartbeat event(s)` : '') +
      (r.browserCpuMs ? `; CPU browser ${Math.round(r.browserCpuMs)} ms, node ${Math.round(r.serverCpuMs)} ms` : '');

/** Medians of one contestant's upload trials, ratios against the raw loop of the same round. */
function uploadRow(name, trials, base, extra = {}) {
  const ok = trials.filter((x) => !x.error);
  const ratios = trials.map((x, i) => (x.error || !base[i] || base[i].error ? null : x.mbps / base[i].mbps)).filter((v) => v !== null);
  const allRtts = ok.flatMap((x) => x.rtts);
  const sorted = [...allRtts].sort((a, b) => a - b);
  return {
    contestant: name,
    label: CONTESTANTS[name].label,
    setup: describe(name, 'upload'),
    ...extra,
    mbps: median(ok.map((x) => x.mbps)),
    mbpsAll: ok.map((x) => x.mbps),
    ratio: name === 'raw-ws-up' ? 1 : median(ratios),
    ratios,
    heapGrowth: median(ok.map((x) => x.heapGrowth)),
    heapGrowthMax: ok.length ? Math.max(...ok.map((x) => x.heapGrowth)) : null,
    heapGrowthAll: ok.map((x) => x.heapGrowth),
    rttMedian: median(allRtts),
    rttP95: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))] : null,
    rttMax: sorted.length ? sorted.at(-1) : null,
    pings: allRtts.length,
    lostPings: ok.reduce((a, x) => a + (x.lostPings ?? 0), 0),
    idleRtt: median(ok.flatMap((x) => x.idleRtts ?? [])),
    heartbeats: ok[0]?.heartbeats ? ok.reduce((a, x) => a + x.heartbeats.length, 0) : undefined,
    browserCpuPerGiB: median(ok.filter((x) => x.browserCpuMs > 0).map((x) => (x.browserCpuMs / x.bytes) * 1024 * MiB)),
    serverCpuPerGiB: median(ok.filter((x) => x.serverCpuMs > 0).map((x) => (x.serverCpuMs / x.bytes) * 1024 * MiB)),
    errors: trials.filter((x) => x.error).map((x) => x.error.split('\n')[0]),
    trials, // every sample, as the page and the driver measured it
  };
}

async function uploadPhase() {
  // What this process burns while nothing should run: earlier phases must have left nothing behind.
  const idle0 = process.cpuUsage();
  await sleep(1000);
  const idle = process.cpuUsage(idle0);
  log(`  bench process CPU while idle: ${Math.round((idle.user + idle.system) / 1000)} ms in 1 s; heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB`);
  const active = UPLOAD_CONTESTANTS.filter((c) => !pending(c) && (!onlyContestants || onlyContestants.includes(c) || c === 'raw-ws-up'));
  const runs = Object.fromEntries(active.map((c) => [c, []]));
  const others = active.filter((c) => c !== 'raw-ws-up' && c !== 'heartline-up');
  const pair = active.includes('heartline-up') ? ['raw-ws-up', 'heartline-up'] : ['raw-ws-up'];
  for (let r = 0; r < CFG.uploadRounds; r++) {
    const rotated = others.map((_, i) => others[(i + r) % others.length]);
    const order = r % 2 ? [...rotated, ...[...pair].reverse()] : [...pair, ...rotated];
    for (const c of order) {
      const res = await uploadTrial(c);
      runs[c].push(res);
      log(`  upload round ${r + 1}/${CFG.uploadRounds} ${c}: ${fmtUp(res)}`);
      await sleep(300);
    }
  }
  const base = runs['raw-ws-up'];
  const out = { sizeMiB: CFG.uploadMiB, rounds: CFG.uploadRounds, targets: UPLOAD_TARGETS, rows: active.map((c) => uploadRow(c, runs[c], base)) };

  if (CFG.sweepRounds && active.includes('heartline-up')) {
    // heartline's chunkSize x highWaterMark, each round with a raw-loop baseline of its own.
    const sweepRuns = SWEEP.map(() => []);
    const sweepBase = [];
    for (let r = 0; r < CFG.sweepRounds; r++) {
      const order = [-1, ...SWEEP.map((_, i) => (i + r * 4) % SWEEP.length)];
      const got = new Map();
      for (const k of order) {
        const res = k < 0 ? await uploadTrial('raw-ws-up') : await uploadTrial('heartline-up', SWEEP[k]);
        got.set(k, res);
        log(`  upload sweep round ${r + 1}/${CFG.sweepRounds} ${k < 0 ? 'raw-ws-up' : `chunk ${SWEEP[k].chunk / KiB} KiB, hwm ${SWEEP[k].hwm / MiB} MiB`}: ${fmtUp(res)}`);
        await sleep(300);
      }
      sweepBase.push(got.get(-1));
      SWEEP.forEach((_, k) => sweepRuns[k].push(got.get(k)));
    }
    out.sweep = {
      rounds: CFG.sweepRounds,
      baseline: uploadRow('raw-ws-up', sweepBase, sweepBase),
      rows: SWEEP.map((cfg, k) => uploadRow('heartline-up', sweepRuns[k], sweepBase, { chunkSize: cfg.chunk, highWaterMark: cfg.hwm, isDefault: cfg.chunk === MiB && cfg.hwm === 4 * MiB })),
    };
  }
  return out;
}

const fmtMs = (ms) => (ms === null || ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

// ---------------------------------------------------------------------------------------------

/** Which heartline was measured: the dist/ hash, and the commit it was presumably built from. */
function buildInfo() {
  const git = (...a) => {
    try {
      return execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    distSha256: createHash('sha256').update(readFileSync(join(root, 'dist/heartline.mjs'))).digest('hex').slice(0, 12),
    gitHead: git('rev-parse', '--short', 'HEAD') || 'unknown',
    srcChanged: git('status', '--porcelain', 'src') !== '',
  };
}

function machine(chromiumVersion) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  let nproc;
  try {
    nproc = +execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    nproc = cpus().length;
  }
  return {
    nproc,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    chromium: chromiumVersion,
    node: process.version,
    loadavgStart: loadavg().map((v) => +v.toFixed(2)),
  };
}

async function main() {
  if (!existsSync(join(root, 'dist/heartline.mjs'))) throw new Error('dist/heartline.mjs is missing: run `npm run build` first');
  const results = { mode: QUICK ? 'quick' : 'full', date: new Date().toISOString(), config: CFG, heartlineSse: HEARTLINE_SSE_READY ? 'measured' : 'pending: transport not yet built' };
  results.heartline = buildInfo();
  log(`heartline bench, ${results.mode} mode (dist ${results.heartline.distSha256}, HEAD ${results.heartline.gitHead}${results.heartline.srcChanged ? ', src/ has uncommitted changes' : ''})`);

  if (want('storm')) {
    log('reconnect storm simulation…');
    results.storm = runStorm({ quick: QUICK });
  }
  results.machine = machine('not launched');
  if (want('server')) {
    const max = Number(argv.find((a) => a.startsWith('--max='))?.slice(6) ?? 100000);
    results.server = await runServerBench({ quick: QUICK, max, log });
    writeServerResults(results.server, PARTIAL && !only?.every((p) => p === 'server') ? 'dev-server' : 'server');
  }
  const BROWSER_PHASES = ['instrumentation', 'throughput', 'reconnect', 'blackhole', 'idle', 'upload'];
  if (BROWSER_PHASES.some(want)) await browserPhases(results);
  else results.machine.loadavgEnd = loadavg().map((v) => +v.toFixed(2));
  results.wallSeconds = Math.round((Date.now() - T0) / 1000);

  const outDir = join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  if (results.storm) {
    writeFileSync(join(outDir, PARTIAL ? 'dev-storm.svg' : 'storm.svg'), `${stormSvg(results.storm, 100000)}\n`);
    for (const r of results.storm.rows) delete r.series; // big; the SVG has them
  }
  results.partial = PARTIAL || undefined;
  writeFileSync(join(outDir, `${OUT}.json`), `${JSON.stringify(results, null, 1)}\n`);
  const md = renderMarkdown(results) + (results.server ? `\n${serverMarkdown(results.server)}` : '');
  writeFileSync(join(outDir, `${OUT}.md`), md);
  log(`wrote bench/results/${OUT}.json, ${OUT}.md${results.storm ? `, ${PARTIAL ? 'dev-storm' : 'storm'}.svg` : ''}${results.server ? ', server.json, server.md' : ''} (${results.wallSeconds} s)`);
  if (argv.includes('--readme') && !PARTIAL) {
    updateReadme(join(root, 'bench/README.md'), results);
    log('updated the results section of bench/README.md');
  }
  console.log(`\n${md}`);
}

/** Everything measured in Chromium (the client side). */
async function browserPhases(results) {
  log('bundling contestants (rollup + terser)…');
  const libDir = join(here, '.build/lib');
  results.bundles = await buildBundles(libDir);

  srv = await startBenchServer({ pagesDir: join(here, 'pages'), libDir });
  cleanups.push(() => srv.stop());
  browser = await launchChromium();
  cleanups.push(() => browser.stop());
  results.machine = machine(browser.version);
  log(`Chromium ${browser.version} (pid ${browser.pid}), bench server ${srv.origin}`);

  try {
    if (want('instrumentation')) {
      log('instrumentation check: raw WebSocket receive, our pages vs Playwright pages…');
      results.instrumentation = await instrumentationCheck();
    }
    if (want('throughput')) {
      results.throughput = [];
      for (const s of THROUGHPUT.filter((x) => !onlyScenarios || onlyScenarios.includes(x.key))) {
        log(`throughput: ${s.title}`);
        results.throughput.push(await throughputScenario(s));
      }
    }
    // Reconnect and the long waits (black-hole up to 60 s, idle 60 s) run side by side: neither
    // is CPU-bound (pages that wait and reconnect), and this halves the wall time.
    const long = (async () => {
      const out = {};
      const idle = want('idle') ? idlePhase() : null;
      if (want('blackhole')) out.blackhole = await blackholePhase();
      if (idle) out.idle = await idle;
      return out;
    })();
    if (want('reconnect')) {
      log('reconnect latency (clean close, restart) alongside black-hole and idle…');
      results.reconnect = await reconnectPhase();
    } else if (want('blackhole') || want('idle')) log('black-hole and idle…');
    Object.assign(results, await long);
    if (want('upload')) {
      log(`upload: ${CFG.uploadMiB} MiB Blob, ${CFG.uploadRounds} interleaved round(s)${CFG.sweepRounds ? `, then heartline's chunkSize × highWaterMark sweep (${CFG.sweepRounds} round(s))` : ''}…`);
      results.upload = await uploadPhase();
    }
  } finally {
    results.machine.loadavgEnd = loadavg().map((v) => +v.toFixed(2));
    await cleanup();
  }
}

main().then(() => process.exit(0), async (e) => {
  console.error(e);
  await cleanup();
  process.exit(1);
});
