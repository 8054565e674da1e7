// `node e2e/proxies.mjs`: the client behind real nginx and HAProxy (e2e/proxies/README.md), in
// Chromium and Firefox. Each test gets its own fixture server, proxy process and browser context,
// all stopped (by PID) when it ends, passed or not. Prints one line per test with its figures, writes
// them to test-results/proxies.json, and ends with `proxies: N passed, N failed`.
// Options: --grep REGEX (on "browser › proxy › scenario"), --browser chromium,firefox,webkit (all
// three by default; for WebKit an Xvfb is started here when there is no DISPLAY), --jobs N (5).
// Needs dist/ built (npx rollup -c --silent).
import { chromium, firefox } from '@playwright/test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS, FIREFOX, FIREFOX_PREFS } from './browsers.mjs';
import { fallback, handshakeErrors, harness, idleCuts, longpollIdle, restarts } from './proxies/scenarios.mjs';
import { startHaproxy, startNginx } from './proxies/start.mjs';
import { openWebkitPage, startXvfb } from './proxies/webkit.mjs';
import { startServer } from './server.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallbackValue) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallbackValue;
};
const grep = arg('--grep') ? new RegExp(arg('--grep')) : null;
const JOBS = Number(arg('--jobs', '5'));
const TEST_TIMEOUT = 120000;

const PROXIES = {
  'nginx default': (port) => startNginx('default', port),
  'nginx websocket': (port) => startNginx('websocket', port),
  'haproxy websocket': (port) => startHaproxy(port),
};

/** [proxy, scenario name, fn(h, server, proxy)] — longest first, so the pool finishes together. */
const SCENARIOS = [
  ['nginx websocket', 'idle cuts (case 16)', (h) => idleCuts(h)],
  ['haproxy websocket', 'idle cuts (case 16)', (h) => idleCuts(h)],
  ['nginx websocket', 'restarts end on websocket (case 12)', (h, s) => restarts(h, s)],
  ['haproxy websocket', 'restarts end on websocket (case 12)', (h, s) => restarts(h, s)],
  ['nginx websocket', 'long-polling idle, proxy timeout < hold (case 17)', (h) => longpollIdle(h)],
  ['haproxy websocket', 'long-polling idle, proxy timeout < hold (case 17)', (h) => longpollIdle(h)],
  ['nginx default', 'fallback within 3 s (case 15)', (h) => fallback(h)],
  ['nginx websocket', 'handshake errors reach the app (case 18)', (h, s, p) => handshakeErrors(h, s, p)],
  ['haproxy websocket', 'handshake errors reach the app (case 18)', (h, s, p) => handshakeErrors(h, s, p)],
];

/** One shared browser per Playwright engine, a fresh context per test; WebKit: a browser per test. */
const ENGINES = {
  chromium: () => chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
  firefox: () => firefox.launch({ channel: 'moz-firefox', executablePath: FIREFOX, firefoxUserPrefs: FIREFOX_PREFS }),
  webkit: async () => ({ open: openWebkitPage, close: async () => {} }),
};

async function openPage(browser) {
  if (browser.open) return browser.open();
  const context = await browser.newContext();
  return { page: await context.newPage(), close: () => context.close() };
}

/** Everything still to stop if the run is interrupted. */
const cleanups = new Set();
async function cleanupAll() {
  await Promise.allSettled([...cleanups].map((fn) => fn()));
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    interrupted = true; // no new test starts; whatever a running one starts from now on is stopped at once
    cleanupAll().finally(() => process.exit(130));
  });
}

/** Firefox reports its own log line for a refused WebSocket as a page error: expected here. */
const EXPECTED_PAGE_ERROR = /can.t establish a connection to the server at ws:|NS_ERROR_/i;

let keys = 0;
async function runOne(browser, engine, [proxyName, name, fn]) {
  const started = Date.now();
  const stops = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  /** Keep `stop` for the end of the test; after an interrupt, call it now and give up. */
  const own = async (stop) => {
    stops.push(stop);
    if (interrupted) {
      await stopAll();
      throw new Error('interrupted');
    }
  };
  cleanups.add(stopAll);
  let h = null;
  let error = null;
  const pageErrors = [];
  try {
    const server = await startServer({ port: 0 });
    await own(() => server.stop());
    const proxy = await PROXIES[proxyName](server.port);
    await own(() => proxy.stop());
    const { page, close } = await openPage(browser);
    await own(close);
    page.on('pageerror', (err) => EXPECTED_PAGE_ERROR.test(String(err?.message)) || pageErrors.push(String(err?.message ?? err)));
    await page.goto(`${proxy.url}pages/proxy.html`);
    await page.waitForFunction(() => window.__proxy?.ready, undefined, { timeout: 10000 });
    const key = `proxy-${engine}-${++keys}-${Date.now().toString(36)}`;
    h = harness({ page, server, proxy, key });
    let timer;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${TEST_TIMEOUT} ms`)), TEST_TIMEOUT)));
    await Promise.race([fn(h, server, proxy), timeout]).finally(() => clearTimeout(timer));
  } catch (err) {
    error = String(err?.stack ?? err);
  } finally {
    cleanups.delete(stopAll);
    await stopAll();
  }
  const failures = [...(h?.failures ?? []), ...(error ? [error] : []), ...pageErrors.map((e) => `page error: ${e}`)];
  return { engine, proxy: proxyName, scenario: name, ok: failures.length === 0, seconds: (Date.now() - started) / 1000, figures: h?.figures ?? {}, failures };
}

async function main() {
  if (!existsSync(`${ROOT}dist/heartline.mjs`)) {
    console.log('proxies: dist/ is missing: run npx rollup -c --silent first');
    console.log('proxies: 0 passed, 1 failed');
    return 1;
  }
  const engines = arg('--browser') ? arg('--browser').split(',') : Object.keys(ENGINES);
  const unknown = engines.filter((e) => !ENGINES[e]);
  if (unknown.length) throw new Error(`unknown --browser ${unknown} (chromium, firefox, webkit)`);
  if (engines.includes('webkit') && !process.env.DISPLAY) {
    // WebKitGTK needs an X display: our own Xvfb, stopped by PID at the end.
    const xvfb = await startXvfb();
    cleanups.add(() => xvfb.stop());
    process.env.DISPLAY = xvfb.display;
  }
  const jobs = [];
  for (const s of SCENARIOS) for (const engine of engines) if (!grep || grep.test(`${engine} › ${s[0]} › ${s[1]}`)) jobs.push({ engine, s });
  const browsers = {};
  const results = [];
  try {
    for (const engine of new Set(jobs.map((j) => j.engine))) browsers[engine] = await ENGINES[engine]();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length && !interrupted) {
        const { engine, s } = jobs[next++];
        const r = await runOne(browsers[engine], engine, s);
        results.push(r);
        console.log(`${r.ok ? '✓' : '✘'} ${engine} › ${r.proxy} › ${r.scenario} (${r.seconds.toFixed(1)} s) ${JSON.stringify(r.figures)}`);
        for (const f of r.failures) console.log(`    ${f.split('\n').join('\n    ')}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, JOBS) }, worker));
  } finally {
    await cleanupAll();
    await Promise.allSettled(Object.values(browsers).map((b) => b.close()));
  }
  mkdirSync(`${ROOT}test-results`, { recursive: true });
  writeFileSync(`${ROOT}test-results/proxies.json`, `${JSON.stringify(results, null, 2)}\n`);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed + (results.length === 0 ? 1 : 0);
  console.log(`proxies: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
