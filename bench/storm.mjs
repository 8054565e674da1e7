// Reconnect storm: N clients lose their server at the same instant and reconnect on a schedule.
// Pure Node, no browser; the delays come from heartline's own backoff() (dist/heartline.mjs), so
// the schedule simulated is the one shipped.
//
// Model (stated in the output too):
// - At t = 0 every client loses its connection; each notices within DETECT_SPREAD_MS (uniform),
//   as real clients do over different round trips; the server is back at once.
// - A client waits backoff(attempt) ms (attempt 0, 1, 2, … counting its failed tries), then tries.
// - The server accepts ACCEPT_RATE connections per second, metered per STEP_MS step (50 per 10 ms);
//   excess attempts in a step are refused at once (nothing queues) and those clients back off again.
// - Time is simulated in STEP_MS steps; clients are counted per (step, attempt) so N = 1,000,000 is
//   cheap; jittered delays are drawn per client, unjittered ones computed once per group.
//
// Usage: node bench/storm.mjs [--quick]   (also run by bench/run.mjs)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { backoff } = await import(pathToFileURL(join(here, '../dist/heartline.mjs')).href);

export const MODEL = {
  ACCEPT_RATE: 5000, // connections the server accepts per second
  STEP_MS: 10,
  DETECT_SPREAD_MS: 100,
  HORIZON_S: 3600, // simulated time limit
  BIN_MS: 100, // peak attempts/s is measured over bins of this width
};

/** The schedules compared; each is a backoff() options object (all use heartline's function). */
export const SCHEDULES = [
  { key: 'heartline', label: 'heartline default: 500 ms × 2ⁿ, max 30 s, full jitter', opts: { initialDelay: 500, maxDelay: 30000, factor: 2, jitter: 1 } },
  { key: 'exponential', label: 'exponential, no jitter: 500 ms × 2ⁿ, max 30 s', opts: { initialDelay: 500, maxDelay: 30000, factor: 2, jitter: 0 } },
  { key: 'fixed', label: 'fixed 1 s, no jitter', opts: { initialDelay: 1000, maxDelay: 1000, factor: 1, jitter: 0 } },
];

const LEVELS = 40; // attempt numbers beyond this are folded into the last (every schedule here is flat long before)

/**
 * Simulates one (N, schedule). Returns { n, key, peakPerSec, t99, connectedAtEnd, attempts,
 * series: { attempts: Float64Array per second, connected: Float64Array per second (fraction) } }.
 */
export function simulate(n, schedule, model = MODEL, random = Math.random) {
  const { ACCEPT_RATE, STEP_MS, DETECT_SPREAD_MS, HORIZON_S, BIN_MS } = model;
  const steps = Math.ceil((HORIZON_S * 1000) / STEP_MS);
  const perStep = (ACCEPT_RATE * STEP_MS) / 1000;
  const o = schedule.opts;
  const jittered = o.jitter > 0;
  // pending[step * LEVELS + attempt] = clients that try at that step, having failed `attempt` times.
  const pending = new Float64Array((steps + 1) * LEVELS);
  const schedule1 = (from, level, count) => {
    if (jittered) {
      for (let i = 0; i < count; i++) {
        const s = from + Math.max(1, Math.ceil(backoff(level, o, random) / STEP_MS));
        if (s <= steps) pending[s * LEVELS + Math.min(level + 1, LEVELS - 1)]++;
      }
    } else {
      const s = from + Math.max(1, Math.ceil(backoff(level, o) / STEP_MS));
      if (s <= steps) pending[s * LEVELS + Math.min(level + 1, LEVELS - 1)] += count;
    }
  };
  // Detection spread, then the first delay (attempt 0): drawn per client.
  const spreadSteps = Math.max(1, Math.round(DETECT_SPREAD_MS / STEP_MS));
  if (jittered) {
    for (let i = 0; i < n; i++) {
      const d = Math.floor(random() * spreadSteps) + Math.max(1, Math.ceil(backoff(0, o, random) / STEP_MS));
      if (d <= steps) pending[d * LEVELS + 0]++;
    }
  } else {
    const d0 = Math.max(1, Math.ceil(backoff(0, o) / STEP_MS));
    const each = n / spreadSteps;
    for (let k = 0; k < spreadSteps; k++) pending[(k + d0) * LEVELS] += each;
  }
  // Round the spread of unjittered groups to whole clients.
  if (!jittered) for (let i = 0; i < pending.length; i++) pending[i] = Math.round(pending[i]);

  const binSteps = BIN_MS / STEP_MS;
  const secSteps = 1000 / STEP_MS;
  const secs = Math.ceil(HORIZON_S);
  const attemptsPerSec = new Float64Array(secs);
  const connectedAt = new Float64Array(secs);
  let connected = 0;
  let attempts = 0;
  let peakBin = 0;
  let bin = 0;
  let t99 = null;
  let lastStep = steps;
  for (let s = 0; s <= steps; s++) {
    const base = s * LEVELS;
    let arriving = 0;
    for (let l = 0; l < LEVELS; l++) arriving += pending[base + l];
    if (arriving > 0) {
      attempts += arriving;
      bin += arriving;
      attemptsPerSec[Math.min(secs - 1, Math.floor(s / secSteps))] += arriving;
      const accept = Math.min(perStep, arriving);
      connected += accept;
      // Which arrivals get in is random: the accepted share is spread over attempt numbers in
      // proportion; the rest back off again from their own attempt number.
      const share = accept / arriving;
      const ok = new Float64Array(LEVELS);
      let left = accept;
      for (let l = 0; l < LEVELS; l++) left -= ok[l] = Math.floor(pending[base + l] * share);
      // Rounding leftovers (fewer than LEVELS clients) go to levels that still have some.
      for (let l = Math.floor(random() * LEVELS), k = 0; left > 0 && k < LEVELS; k++, l = (l + 1) % LEVELS) {
        if (pending[base + l] - ok[l] >= 1) ok[l]++, left--;
      }
      for (let l = 0; l < LEVELS; l++) {
        const failed = pending[base + l] - ok[l];
        if (failed > 0) schedule1(s, l, failed);
      }
    }
    if ((s + 1) % binSteps === 0) {
      peakBin = Math.max(peakBin, bin);
      bin = 0;
    }
    if ((s + 1) % secSteps === 0) connectedAt[Math.floor(s / secSteps)] = connected / n;
    if (t99 === null && connected >= 0.99 * n) {
      t99 = ((s + 1) * STEP_MS) / 1000;
      lastStep = s;
      break;
    }
  }
  const lastSec = Math.min(secs, Math.ceil(((lastStep + 1) * STEP_MS) / 1000));
  for (let i = Math.floor(((lastStep + 1) * STEP_MS) / 1000); i < lastSec; i++) connectedAt[i] = connected / n;
  return {
    n,
    key: schedule.key,
    label: schedule.label,
    peakPerSec: (peakBin * 1000) / BIN_MS,
    t99,
    connectedAtEnd: connected / n,
    attempts,
    series: { attempts: attemptsPerSec.slice(0, lastSec), connected: connectedAt.slice(0, lastSec) },
  };
}

export function runStorm({ quick = false } = {}) {
  const sizes = quick ? [10000, 100000, 1000000] : [10000, 30000, 100000, 300000, 1000000];
  const rows = [];
  const t = Date.now();
  for (const n of sizes) for (const sch of SCHEDULES) rows.push(simulate(n, sch));
  return { model: MODEL, schedules: SCHEDULES.map(({ key, label, opts }) => ({ key, label, opts })), rows, ms: Date.now() - t };
}

// ---------------------------------------------------------------------------------------------
// SVG, by hand: two panels for one N — reconnect attempts per second reaching the server (log
// scale) and the share of clients back — one line per schedule.

const COLORS = { heartline: '#d6336c', exponential: '#1c7ed6', fixed: '#5c940d' };
const fmt = (v) => (v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(1)}`);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function stormSvg(storm, n) {
  const rows = storm.rows.filter((r) => r.n === n);
  const W = 860;
  const L = 78;
  const R = 20;
  const panelH = 190;
  const top1 = 78;
  const top2 = top1 + panelH + 62;
  const H = top2 + panelH + 40 + rows.length * 17 + 10;
  // Time axis: up to just past the slowest schedule that got 99% back (the others are clipped and
  // say so in the legend).
  const done = rows.filter((r) => r.t99 !== null).map((r) => r.t99);
  const tMax = niceCeil(Math.max(10, 1.1 * Math.max(...(done.length ? done : [storm.model.HORIZON_S]))));
  const x = (t) => L + ((W - L - R) * t) / tMax;
  const yMaxA = 10 ** Math.ceil(Math.log10(Math.max(...rows.map((r) => Math.max(...r.series.attempts)))));
  const yA = (v) => top1 + panelH - (panelH * Math.log10(Math.max(1, v))) / Math.log10(yMaxA);
  const yC = (v) => top2 + panelH - panelH * v;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${L}" y="22" font-size="15" font-weight="600">Reconnect storm: ${fmt(n)} clients lose the server at once; it accepts ${fmt(storm.model.ACCEPT_RATE)}/s</text>`);
  out.push(
    `<text x="${L}" y="42" fill="#555">bench/storm.mjs with heartline's backoff(); refused attempts back off again; loss noticed within ${storm.model.DETECT_SPREAD_MS} ms; peaks over ${storm.model.BIN_MS} ms bins.</text>`,
  );
  // axes and grids
  for (const [top, title] of [
    [top1, 'reconnect attempts reaching the server per second (log)'],
    [top2, 'clients reconnected (%)'],
  ]) {
    out.push(`<text x="${L}" y="${top - 8}" font-weight="600">${title}</text>`);
    out.push(`<rect x="${L}" y="${top}" width="${W - L - R}" height="${panelH}" fill="none" stroke="#999"/>`);
    for (let i = 0; i <= 5; i++) {
      const t = (tMax * i) / 5;
      out.push(`<line x1="${x(t)}" y1="${top}" x2="${x(t)}" y2="${top + panelH}" stroke="#eee"/>`);
      out.push(`<text x="${x(t)}" y="${top + panelH + 15}" text-anchor="middle" fill="#444">${fmt(t)} s</text>`);
    }
  }
  for (let e = 0; e <= Math.log10(yMaxA); e++) {
    const y = yA(10 ** e);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end" fill="#444">${fmt(10 ** e)}</text>`);
  }
  const cap = yA(storm.model.ACCEPT_RATE);
  out.push(`<line x1="${L}" y1="${cap}" x2="${W - R}" y2="${cap}" stroke="#000" stroke-dasharray="5 4"/>`);
  out.push(`<text x="${W - R - 4}" y="${cap - 5}" text-anchor="end">server accepts ${fmt(storm.model.ACCEPT_RATE)}/s</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = yC(i / 4);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end" fill="#444">${i * 25}%</text>`);
  }
  for (const r of rows) {
    const c = COLORS[r.key];
    const a = [...r.series.attempts.slice(0, tMax)].map((v, i) => `${x(i + 0.5).toFixed(1)},${yA(v).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.6" points="${a.join(' ')}"/>`);
    const p = [`${x(0)},${yC(0)}`, ...[...r.series.connected.slice(0, tMax)].map((v, i) => `${x(i + 1).toFixed(1)},${yC(v).toFixed(1)}`)];
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${p.join(' ')}"/>`);
  }
  // legend
  rows.forEach((r, i) => {
    const y = top2 + panelH + 44 + i * 17;
    const t99 =
      r.t99 === null
        ? `only ${Math.round(r.connectedAtEnd * 100)}% back after ${fmt(storm.model.HORIZON_S)} s (clipped)`
        : `99% back at ${fmt(r.t99)} s${r.t99 > tMax ? ' (clipped)' : ''}`;
    out.push(`<line x1="${L}" y1="${y - 4}" x2="${L + 22}" y2="${y - 4}" stroke="${COLORS[r.key]}" stroke-width="3"/>`);
    out.push(`<text x="${L + 28}" y="${y}">${esc(r.label)} — peak ${fmt(r.peakPerSec)}/s, ${t99}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const storm = runStorm({ quick });
  for (const r of storm.rows) {
    console.log(`${String(r.n).padStart(8)} ${r.key.padEnd(12)} peak ${fmt(r.peakPerSec).padStart(7)}/s  99% ${r.t99 === null ? `>${storm.model.HORIZON_S}` : r.t99} s  attempts ${fmt(r.attempts)}`);
  }
  console.log(`simulated in ${storm.ms} ms`);
  const out = join(here, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'storm.svg'), stormSvg(storm, 100000));
  console.log('wrote bench/results/storm.svg');
}
