// Markdown from a results object: bench/results/latest.md, and the generated part of bench/README.md's
// "## Results of the last full run" section (between the bench:start/bench:end markers; text outside
// them is kept). The top-level README.md only summarises and links there.
import { readFileSync, writeFileSync } from 'node:fs';
import { max, min } from './stats.mjs';

const int = (v) => (v === null || v === undefined ? '—' : Math.round(v).toLocaleString('en'));
const ratio = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(2)}×`);
const ms = (v) => (v === null || v === undefined ? '—' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const range = (xs, f) => {
  const a = xs.filter((x) => x !== null && x !== undefined);
  return a.length > 1 ? ` (${f(min(a))}–${f(max(a))})` : '';
};
const si = (v) => (v >= 1e6 ? `${+(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${+(v / 1e3).toFixed(0)}k` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${Math.round(v)}`);

export function renderMarkdown(r, { headingLevel = 2, forReadme = false } = {}) {
  const h = (n) => '#'.repeat(headingLevel + n);
  const out = [];
  const m = r.machine ?? {};
  if (!forReadme) out.push(`${h(0)} heartline benchmarks (${r.mode} run)`, '');
  out.push(
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.mode} mode (\`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\`), ${r.wallSeconds} s wall time. ` +
      `Machine: ${m.nproc ?? '?'} cores (\`nproc\`), ${m.cpu ?? '?'}, ${m.chromium ?? '?'} headless, Node ${m.node ?? '?'}; ` +
      `load average ${m.loadavgStart?.[0] ?? '?'} at start, ${m.loadavgEnd?.[0] ?? '?'} at end (the machine is shared). ` +
      `heartline measured: dist/heartline.mjs sha256 ${r.heartline?.distSha256} (HEAD ${r.heartline?.gitHead}${r.heartline?.srcChanged ? ', src/ with uncommitted changes' : ''}).`,
    '',
  );

  if (r.instrumentation) {
    const i = r.instrumentation;
    out.push(
      `${h(1)} Measuring without instrumentation`,
      '',
      `Raw WebSocket receive of ${int(i.n)} × 100 B JSON, ${i.rounds} round(s) each, interleaved: **${int(i.uninstrumented)} msg/s** in the bench's own pages ` +
        `(created through the browser-level DevTools endpoint, never attached to) vs **${int(i.playwright)} msg/s** in a Playwright page ` +
        `(CDP Network domain on: ${ratio(i.playwright / i.uninstrumented)}). All figures below come from uninstrumented pages.`,
      '',
    );
  }

  if (r.throughput) {
    out.push(
      `${h(1)} Throughput (median of ${r.throughput[0]?.rounds} interleaved rounds)`,
      '',
      'Ratio = per-round ratio of throughput to the raw API, median and (range). Browser CPU = CPU time of all Chromium processes during the timed window, per 1,000 messages, ' +
        'with its per-round ratio to the raw API: a second lens that a busy machine distorts much less than wall time.',
      '',
    );
    for (const s of r.throughput) {
      const big = s.size >= 65536;
      out.push(`**${s.title}**`, '');
      out.push(`| contestant | ${big ? 'MB/s' : 'msg/s'} | ratio to ${s.baseline === 'raw-ws' ? 'raw WebSocket' : 'native EventSource'} | browser CPU ms / 1k msgs (ratio) | lost | out of order | setup |`);
      out.push('|---|--:|--:|--:|--:|--:|---|');
      for (const row of s.rows) {
        if (row.pending) {
          out.push(`| ${row.label} | ${row.pending} | | | | | ${row.setup} |`);
          continue;
        }
        const val = big ? `${row.mbps.toFixed(0)}` : int(row.rate);
        const rr = row.contestant === s.baseline ? '1 (baseline)' : `${ratio(row.ratio)}${range(row.ratios, ratio)}`;
        const errs = row.errors.length ? ` — ${row.errors.length} failed run(s)` : '';
        const cpu = row.cpuPerK === null ? '—' : `${row.cpuPerK.toFixed(big ? 0 : 1)} (${row.contestant === s.baseline ? '1' : ratio(row.cpuRatio)})`;
        out.push(`| ${row.label} | ${val}${errs} | ${rr} | ${cpu} | ${row.lost} | ${row.outOfOrder} | ${row.setup} |`);
      }
      if (s.target) {
        const heart = s.rows.find((x) => x.contestant === (s.baseline === 'raw-ws' ? 'heartline' : 'heartline-sse'));
        const verdict = heart?.pending ? 'pending (heartline SSE transport not yet built)' : heart?.ratio >= s.target ? `met (${ratio(heart.ratio)})` : `**missed** (${ratio(heart?.ratio)})`;
        out.push('', `Target: heartline ≥ ${s.target}× ${s.baseline === 'raw-ws' ? 'raw WebSocket' : 'native EventSource'}: ${verdict}.`);
      }
      out.push('');
    }
    const lossy = r.throughput.flatMap((s) => s.rows.filter((x) => !x.pending && (x.lost || x.outOfOrder || x.errors.length)).map((x) => `${s.key}/${x.contestant}`));
    out.push(lossy.length ? `Loss, reordering or failed runs in: ${lossy.join(', ')}.` : 'Zero messages lost or reordered in every throughput run (every message numbered and checked).', '');
  }

  if (r.reconnect) {
    const rc = r.reconnect;
    out.push(
      `${h(1)} Reconnect latency (median of ${rc.rounds} round(s), range)`,
      '',
      `Clean close: the server closes (WebSocket 1000, socket.io engine close, end of the SSE response); time until the client's new connection is accepted. ` +
        `Restart: the server closes its listener and every connection (no close frames), comes back after ${rc.downMs} ms on the same port; time from back up to reconnected, and the whole outage. ` +
        `Timed at the server. All contestants run side by side, each against its own server. Not reconnected within ${ms(rc.capMs)}: "—".`,
      '',
      '| contestant | setting | after clean close | after restart (from server back up) | restart: whole outage |',
      '|---|---|--:|--:|--:|',
    );
    for (const row of rc.clean) {
      const rs = rc.restart.find((x) => x.contestant === row.contestant && x.preset === row.preset);
      if (row.pending) {
        out.push(`| ${row.label} | ${row.preset}: ${row.setup} | ${row.pending} | | |`);
        continue;
      }
      out.push(
        `| ${row.label} | ${row.preset}: ${row.setup} | ${ms(row.median)}${range(row.samples, ms)}${row.missed ? ` (${row.missed} missed)` : ''} | ` +
          `${ms(rs?.median)}${range(rs?.samples ?? [], ms)}${rs?.missed ? ` (${rs.missed} missed)` : ''} | ${ms(rs?.medianTotal)} |`,
      );
    }
    out.push('');
  }

  if (r.blackhole) {
    const b = r.blackhole;
    out.push(
      `${h(1)} Black-holed connection: time to notice (${b.rounds} round(s), given up at ${ms(b.capMs)})`,
      '',
      'The server sends one last message, then stops reading and writing with the TCP connection kept open (no FIN, no close frame). Time until the library reports the connection lost.',
      '',
      '| contestant | setting | detected after | rounds | reported as |',
      '|---|---|--:|---|---|',
    );
    for (const row of b.rows) {
      if (row.pending) {
        out.push(`| ${row.label} | ${row.preset}: ${row.setup} | ${row.pending} | | |`);
        continue;
      }
      const all = row.samples.map((v) => (v === null ? 'not detected' : ms(v))).join(', ');
      const med = row.median !== null ? ms(row.median) : row.samples.every((v) => v === null) ? `not detected in ${ms(b.capMs)}` : 'partly';
      out.push(`| ${row.label} | ${row.preset}: ${row.setup} | ${med} | ${all} | ${[...new Set(row.how)].join('; ')} |`);
    }
    out.push('');
  }

  if (r.idle) {
    const i = r.idle;
    out.push(
      `${h(1)} Idle cost per minute (one open, silent connection)`,
      '',
      `Timer wake-ups: setTimeout/setInterval callbacks run in the page (wrapped before any library loads). Bytes: TCP payload both ways, counted at the server. ` +
        (i.extrapolated ? `Quick mode: measured over ${ms(i.windowMs)} and scaled to a minute.` : `Measured over ${ms(i.windowMs)}.`),
      '',
      '| contestant | setting | timer wake-ups / min | bytes on the wire / min |',
      '|---|---|--:|--:|',
    );
    for (const row of i.rows) {
      if (row.pending) out.push(`| ${row.label} | ${row.preset}: ${row.setup} | ${row.pending} | |`);
      else if (row.error) out.push(`| ${row.label} | ${row.preset}: ${row.setup} | error: ${row.error.split('\n')[0]} | |`);
      else out.push(`| ${row.label} | ${row.preset}: ${row.setup} | ${row.wakeupsPerMin.toFixed(1)} | ${Math.round(row.bytesPerMin)} |`);
    }
    out.push('');
  }

  if (r.bundles) {
    out.push(
      `${h(1)} Bundle bytes`,
      '',
      'Each typical import bundled with Rollup (node-resolve for the browser, commonjs, NODE_ENV=production) and minified with terser (as scripts/size.mjs does); gzip -9 and brotli -11. The benchmark pages load these exact files.',
      '',
      '| import | min | min+gz | min+br |',
      '|---|--:|--:|--:|',
    );
    for (const b of r.bundles) out.push(`| ${b.label} | ${int(b.min)} | ${int(b.gz)} | ${int(b.br)} |`);
    out.push('');
  }

  if (r.upload) out.push(...uploadSection(r.upload, h));

  if (r.storm) {
    const s = r.storm;
    const mm = s.model;
    out.push(
      `${h(1)} Reconnect storm (simulation, bench/storm.mjs)`,
      '',
      `N clients lose the server at the same instant (each notices within ${mm.DETECT_SPREAD_MS} ms) and reconnect on a schedule computed by heartline's own \`backoff()\`. ` +
        `The server is back at once and accepts ${int(mm.ACCEPT_RATE)} connections/s (metered per ${mm.STEP_MS} ms); excess attempts are refused and back off again. ` +
        `Peak = most attempts in any ${mm.BIN_MS} ms, per second. Simulated up to ${int(mm.HORIZON_S)} s.`,
      '',
      '| N | schedule | peak attempts/s at the server | 99% reconnected after | attempts in all |',
      '|--:|---|--:|--:|--:|',
    );
    for (const row of s.rows) {
      const t = row.t99 === null ? `not within ${int(mm.HORIZON_S)} s (${Math.round(row.connectedAtEnd * 100)}% back)` : ms(row.t99 * 1000);
      out.push(`| ${int(row.n)} | ${row.label} | ${si(row.peakPerSec)} | ${t} | ${si(row.attempts)} |`);
    }
    out.push('', `![Reconnect storm, 100,000 clients](${forReadme ? 'results/storm.svg' : 'storm.svg'})`, '');
  }
  return `${out.join('\n')}\n`;
}

const mib = (v) => (v === null || v === undefined ? '—' : `${(v / 1048576).toFixed(1)} MiB`);
const size = (b) => (b >= 1048576 ? `${b / 1048576} MiB` : `${b / 1024} KiB`);

function uploadSection(u, h) {
  const out = [];
  const t = u.targets;
  const rtt = (row) => (row.rttMedian === null ? '—' : `${ms(row.rttMedian)} / ${ms(row.rttP95)} / ${ms(row.rttMax)} (${row.pings})`);
  const errs = (row) => (row.errors.length ? ` — ${row.errors.length} failed run(s): ${row.errors[0]}` : '');
  out.push(
    `${h(1)} Upload: ${u.sizeMiB} MiB Blob (median of ${u.rounds} interleaved round(s))`,
    '',
    `The page builds the Blob from a random 1 MiB block repeated, then each contestant uploads it to a local server; the clock runs until the server confirmed the last byte. ` +
      'Ratio: per-round ratio of MB/s (10⁶ B/s) to the raw gated loop, median and (range). Heap: JS heap (V8 heap + ArrayBuffer backing stores) sampled every 50 ms during the upload ' +
      '(Runtime.getHeapUsage on a DevTools session that enables no domain), peak minus the baseline taken after a gc() just before the upload; median (max). ' +
      'RTT while uploading: a round trip started every 200 ms during the upload — raw loop: a text `ping` on the upload socket echoed by the server; heartline: `sendWithAck()` ' +
      '(`msg N` answered `ack N`, queued behind the same upload bytes a heartbeat `ping` waits behind); fetch and tus upload over HTTP, so theirs go over a separate WebSocket. ' +
      'Median / p95 / max over every round (pings). Idle RTT: the same round trip on the quiet connection just before. Browser CPU: Chromium, all processes, per GiB uploaded.',
    '',
    '| contestant | MB/s | ratio to raw gated loop | peak heap growth | RTT while uploading: median / p95 / max (pings) | idle RTT | browser CPU s / GiB | setup |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const row of u.rows) {
    const rr = row.contestant === 'raw-ws-up' ? '1 (baseline)' : `${ratio(row.ratio)}${range(row.ratios, ratio)}`;
    out.push(
      `| ${row.label} | ${row.mbps === null ? '—' : row.mbps.toFixed(0)}${errs(row)} | ${rr} | ${mib(row.heapGrowth)} (${mib(row.heapGrowthMax)}) | ${rtt(row)} | ${ms(row.idleRtt)} | ` +
        `${row.browserCpuPerGiB === null ? '—' : (row.browserCpuPerGiB / 1000).toFixed(2)} | ${row.setup} |`,
    );
  }
  const hl = u.rows.find((x) => x.contestant === 'heartline-up');
  const lean = u.rows.find((x) => x.contestant === 'heartline-up-lean');
  if (hl) {
    const verdict = (ok, text) => `${ok ? 'met' : '**missed**'} (${text})`;
    out.push(
      '',
      `Targets for heartline: ≥ ${t.ratio}× the raw gated loop: ${verdict(hl.ratio >= t.ratio, ratio(hl.ratio))} against the verifying fixture server` +
        (lean ? `, ${verdict(lean.ratio >= t.ratio, ratio(lean.ratio))} against a server that discards like the raw loop's; ` : '; ') +
        `peak heap growth < ${t.heapGrowthMiB} MiB: ${verdict(hl.heapGrowthMax !== null && hl.heapGrowthMax < t.heapGrowthMiB * 1048576, `max ${mib(hl.heapGrowthMax)}`)}; ` +
        `RTT while uploading < ${t.rttMs} ms: ${verdict(hl.rttP95 !== null && hl.rttP95 < t.rttMs, `p95 ${ms(hl.rttP95)}, median ${ms(hl.rttMedian)}, max ${ms(hl.rttMax)}`)}. ` +
        `heartline's own \`heartbeat\` events during the uploads: ${hl.heartbeats ?? 0} (it pings only after \`heartbeat.interval\` = 200 ms without inbound traffic, and each \`up.ack\` is inbound traffic).`,
      '',
    );
  }
  if (u.sweep) {
    const sw = u.sweep;
    out.push(
      `**heartline's defaults: chunkSize × highWaterMark (${u.sizeMiB} MiB, ${sw.rounds} round(s), each with its own raw-loop baseline: ${sw.baseline.mbps?.toFixed(0)} MB/s median)**`,
      '',
      '| chunkSize | highWaterMark | MB/s | ratio to raw gated loop | RTT while uploading: median / p95 / max | peak heap growth |',
      '|--:|--:|--:|--:|--:|--:|',
    );
    for (const row of sw.rows) {
      const d = row.isDefault ? ' (default)' : '';
      out.push(
        `| ${size(row.chunkSize)}${d} | ${size(row.highWaterMark)}${d} | ${row.mbps === null ? '—' : row.mbps.toFixed(0)}${errs(row)} | ${ratio(row.ratio)}${range(row.ratios, ratio)} | ` +
          `${row.rttMedian === null ? '—' : `${ms(row.rttMedian)} / ${ms(row.rttP95)} / ${ms(row.rttMax)}`} | ${mib(row.heapGrowth)} (${mib(row.heapGrowthMax)}) |`,
      );
    }
    out.push('');
  }
  return out;
}

const START = '<!-- bench:start — generated by `npm run bench -- --readme` (or `node bench/lib/report.mjs --readme`) from bench/lib/report.mjs; edit there -->';
const END = '<!-- bench:end -->';

/** Rewrites the generated part of bench/README.md's results section (creates the section if missing). */
export function updateReadme(path, results) {
  const md = renderMarkdown(results, { headingLevel: 2, forReadme: true });
  let readme = readFileSync(path, 'utf8');
  const block = `${START}\n\n${md}\n${END}`;
  const a = readme.indexOf('<!-- bench:start');
  const b = readme.indexOf(END);
  if (a !== -1 && b !== -1) readme = readme.slice(0, a) + block + readme.slice(b + END.length);
  else readme = `${readme.trimEnd()}\n\n## Results of the last full run\n\n${block}\n`;
  writeFileSync(path, readme);
}

// `node bench/lib/report.mjs --readme`: rewrite bench/README.md's generated results block (and
// bench/results/latest.md) from bench/results/latest.json, without running anything.
if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  const { dirname, join } = await import('node:path');
  const here = dirname(new URL(import.meta.url).pathname);
  const results = JSON.parse(readFileSync(join(here, '../results/latest.json'), 'utf8'));
  writeFileSync(join(here, '../results/latest.md'), renderMarkdown(results));
  if (process.argv.includes('--readme')) updateReadme(join(here, '../README.md'), results);
  console.log(`rendered ${results.mode} run of ${results.date}`);
}
