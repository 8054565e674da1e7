// Chromium launched by us, driven through the browser-level DevTools endpoint only.
//
// Why not Playwright pages: Playwright attaches to every page and enables the CDP Network domain,
// so Chromium mirrors each WebSocket frame and SSE event to the driver; that cuts realtime
// throughput 3-4x (../shared/MEASURED.md). Here the driver speaks to the *browser* target only
// (Target.createTarget / Target.closeTarget) and never attaches to a page, so no domain is ever
// enabled in a measured page. Pages time themselves with performance.now() and POST their results
// to the bench server.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

import { CHROMIUM as DEBIAN_CHROMIUM, CHROMIUM_ARGS as LOOPBACK_ONLY } from '../../e2e/browsers.mjs';

export const CHROMIUM = process.env.BENCH_CHROMIUM || DEBIAN_CHROMIUM;
const CLK_TCK = 100; // Linux USER_HZ, as `getconf CLK_TCK` prints on these machines

/** The launch flags of ../shared/BROWSERS.md (no traffic but loopback), plus no throttling. */
export const CHROMIUM_ARGS = [
  ...LOOPBACK_ONLY,
  // Same as Playwright's defaults: pages are never treated as background, so timers are not
  // throttled differently from one contestant's page to the next.
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  // The upload page calls gc() before its heap baseline is taken (nothing else calls it).
  '--js-flags=--expose-gc',
];

/**
 * Starts Chromium headless with a DevTools port chosen by the OS and connects to the browser
 * endpoint. Returns { version, open(url) -> targetId, close(targetId), stop() }.
 */
export async function launchChromium() {
  const profile = mkdtempSync(join(tmpdir(), 'heartline-bench-chromium-'));
  const proc = spawn(
    CHROMIUM,
    [...CHROMIUM_ARGS, '--headless', '--remote-debugging-port=0', '--remote-debugging-address=127.0.0.1', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const endpoint = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not print its DevTools endpoint:\n${buf}`)), 20000);
    proc.stderr.on('data', (d) => {
      buf += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.once('exit', (code) => reject(new Error(`Chromium exited (${code}) before listening:\n${buf}`)));
  });
  proc.stderr.resume();

  const cdp = new WebSocket(endpoint, { perMessageDeflate: false });
  await new Promise((resolve, reject) => (cdp.once('open', resolve), cdp.once('error', reject)));
  let nextId = 1;
  const pending = new Map();
  cdp.on('message', (raw) => {
    const m = JSON.parse(raw);
    const p = m.id && pending.get(m.id);
    if (!p) return; // events: none are subscribed to
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
    else p.resolve(m.result);
  });
  const send = (method, params = {}, sessionId = undefined) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      cdp.send(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }));
    });

  const { product } = await send('Browser.getVersion');

  /**
   * CPU time (ms, user + system) used so far by Chromium's whole process tree (browser, network
   * service, renderers) per /proc. Used as a second, contention-robust lens on throughput: on a
   * shared machine wall time inflates when others run, CPU time per message much less.
   */
  const cpuMs = () => {
    const parent = new Map();
    const ticks = new Map();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
      parent.set(+d, +f[1]);
      ticks.set(+d, +f[11] + +f[12]); // utime, stime
    }
    let sum = 0;
    for (const [pid, t] of ticks) {
      for (let p = pid, hops = 0; p > 1 && hops < 8; p = parent.get(p) ?? 0, hops++) {
        if (p === proc.pid) {
          sum += t;
          break;
        }
      }
    }
    return (sum * 1000) / CLK_TCK;
  };
  const open = new Set();
  return {
    version: product,
    pid: proc.pid,
    cpuMs,
    /** Opens a new page (its own browsing context) at url; the page is never attached to. */
    async open(url) {
      const { targetId } = await send('Target.createTarget', { url });
      open.add(targetId);
      return targetId;
    },
    /**
     * The JS heap of a page, for the upload phase only: a session attached to the page that
     * enables no domain at all (no Network, no Runtime events) and only asks
     * Runtime.getHeapUsage. (performance.memory stays frozen in Chromium 156 headless, even with
     * --enable-precise-memory-info.) Returns { sample() -> { used, backing, total }, detach() }.
     */
    async heapProbe(targetId) {
      const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
      return {
        async sample() {
          const h = await send('Runtime.getHeapUsage', {}, sessionId);
          return { used: h.usedSize, backing: h.backingStorageSize ?? 0, total: h.usedSize + (h.backingStorageSize ?? 0) };
        },
        detach: () => send('Target.detachFromTarget', { sessionId }).catch(() => {}),
      };
    },
    async close(targetId) {
      open.delete(targetId);
      await send('Target.closeTarget', { targetId }).catch(() => {});
    },
    async stop() {
      for (const t of open) await send('Target.closeTarget', { targetId: t }).catch(() => {});
      await send('Browser.close').catch(() => {});
      cdp.close();
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
