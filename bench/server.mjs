// Server benchmarks (issue 14, item 6): heartline/server (dist/server.mjs) next to the plain way,
// side by side in one run. The server under test runs in its own process (lib/server-target.mjs),
// the clients in others (lib/server-load.mjs), bound to several 127.0.0.x source addresses.
//   node bench/server.mjs [--quick]   full (a few minutes); --quick: fewer rounds and connections
//   --max=N  the capacity run stops at N connections (default 100000); --skip-capacity skips it
//   --sizes=100,500 --phases=ws,acks,sse,capacity   development (writes bench/results/dev-server.*)
//   SERVER_BENCH_PROFILE=DIR   development: CPU profiles of the servers under test in DIR
// Also run by `npm run bench` (`-- --only=server`: only this). Writes bench/results/server.{json,md}.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
const PAYLOAD = `{"type":"FANOUT","pad":"${'x'.repeat(64)}"}`; // about 100 bytes, as the client benchmarks
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const round = (x, d = 0) => (Number.isFinite(x) ? +x.toFixed(d) : null);
const num = (x) => (x === null || x === undefined ? '–' : x.toLocaleString('en'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A child process driven over IPC; `ask(msg)` resolves with its answer. */
function child(script, args, { expose = false } = {}) {
  const extra = expose ? ['--expose-gc', ...(process.env.SERVER_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SERVER_BENCH_PROFILE}`] : [])] : [];
  const node = [process.execPath, ...extra, '--max-old-space-size=8192', join(here, 'lib', script), ...args];
  // Raise the descriptor limit as far as this container lets us (its hard limit may be lower).
  const cmd = `ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${node.map((a) => `'${a}'`).join(' ')}`;
  const p = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const waiting = new Map();
  let onReady;
  const ready = new Promise((r) => (onReady = r));
  p.on('message', (m) => (m.ready ? onReady(m) : (waiting.get(m.id)?.(m.answer), waiting.delete(m.id))));
  p.on('exit', () => {
    for (const r of waiting.values()) r(undefined);
    waiting.clear();
  });
  return {
    ready,
    ask: (msg) => new Promise((resolve) => (waiting.set(++seq, resolve), p.send({ ...msg, id: seq }))),
    stop: () => (p.exitCode === null && p.kill(process.env.SERVER_BENCH_PROFILE ? 'SIGINT' : 'SIGKILL'), new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)))),
  };
}

async function withServer(kind, fn) {
  const server = child('server-target.mjs', [kind], { expose: true });
  const load = child('server-load.mjs', []);
  try {
    const { port, nofile } = await server.ready;
    await load.ready;
    return await fn({ server, load, port, nofile });
  } finally {
    await load.ask({ cmd: 'close' }).catch(() => {});
    await Promise.all([load.stop(), server.stop()]);
  }
}

/** `rounds` publishes to `n` clients: median time from publish to the last delivery, and server CPU. */
async function fanout({ server, load }, n, rounds) {
  const times = [];
  const cpus = [];
  let lost = 0;
  for (let i = 0; i < rounds; i += 1) {
    await load.ask({ cmd: 'expect', total: n, timeout: 30000 });
    const before = await server.ask({ cmd: 'cpu' });
    const { at } = await server.ask({ cmd: 'publish', text: PAYLOAD });
    const done = await load.ask({ cmd: 'wait' });
    const after = await server.ask({ cmd: 'cpu' });
    if (done.at === null) lost += n - done.got;
    else times.push(done.at - at);
    cpus.push((after.user + after.system - before.user - before.system) / 1000);
    await sleep(50);
  }
  const ms = median(times);
  return { n, rounds, ms: round(ms, 2), deliveriesPerSec: round((n / ms) * 1000), serverCpuMs: round(median(cpus), 2), lost };
}

const perConn = (a, b, n) => ({ rssKiB: round((b.rss - a.rss) / n / 1024, 1), heapKiB: round((b.heapUsed + b.external - a.heapUsed - a.external) / n / 1024, 1) });
/** WebSocket fan-out to 1,000 and 10,000 clients, and the memory those idle clients cost. */
async function wsPhase(cfg, log) {
  const rows = [];
  for (let r = 0; r < cfg.passes; r += 1) {
    for (const kind of ['raw-ws', 'heartline', 'socketio']) {
      const row = await withServer(kind, async (ctx) => {
        const base = await ctx.server.ask({ cmd: 'mem' });
        const out = { kind, pass: r + 1, fanout: [] };
        let open = 0;
        for (const n of cfg.fanoutSizes) {
          const o = await ctx.load.ask({ cmd: 'open', kind, port: ctx.port, n: n - open, addresses: ADDRESSES });
          open = o.total;
          if (open < n) throw new Error(`${kind}: opened ${open} of ${n} connections`);
          await sleep(500);
          out.fanout.push(await fanout(ctx, n, cfg.publishes));
        }
        const mem = await ctx.server.ask({ cmd: 'mem' });
        out.memory = { n: open, ...perConn(base, mem, open), serverConnections: mem.connections };
        return out;
      });
      log(`  ${kind} pass ${r + 1}: ${row.fanout.map((f) => `${f.n} → ${f.ms} ms (cpu ${f.serverCpuMs} ms)`).join(', ')}; ${row.memory.rssKiB} KiB RSS / ${row.memory.heapKiB} KiB heap per connection`);
      rows.push(row);
    }
  }
  return rows;
}

/** Acknowledged inbound messages: every client pipelines `msg N`, the server acknowledges each. */
async function ackPhase(cfg, log) {
  const rows = [];
  for (let r = 0; r < cfg.passes; r += 1) {
    for (const kind of ['raw-ws', 'heartline']) {
      const row = await withServer(kind, async ({ server, load, port }) => {
        await load.ask({ cmd: 'open', kind, port, n: cfg.ackClients, addresses: ADDRESSES });
        const before = await server.ask({ cmd: 'cpu' });
        const { acked } = await load.ask({ cmd: 'acks', ms: cfg.ackMs, window: 64 });
        const after = await server.ask({ cmd: 'cpu' });
        const cpuSec = (after.user + after.system - before.user - before.system) / 1e6;
        return { kind, pass: r + 1, acked, perSec: round(acked / (cfg.ackMs / 1000)), perCpuSec: round(acked / cpuSec), serverCpuSec: round(cpuSec, 2) };
      });
      log(`  ${kind} pass ${r + 1}: ${row.perSec} acks/s, ${row.perCpuSec} per server CPU-second`);
      rows.push(row);
    }
  }
  return rows;
}

/** SSE fan-out: heartline's SSE transport against `res.write` to every response. */
async function ssePhase(cfg, log) {
  const rows = [];
  for (let r = 0; r < cfg.passes; r += 1) {
    for (const [server, kind] of [['raw-sse', 'raw-sse'], ['heartline', 'heartline-sse']]) {
      const row = await withServer(server, async (ctx) => {
        const out = { kind, pass: r + 1, fanout: [] };
        let open = 0;
        for (const n of cfg.sseSizes) {
          open = (await ctx.load.ask({ cmd: 'open', kind, port: ctx.port, n: n - open, addresses: ADDRESSES })).total;
          if (open < n) throw new Error(`${kind}: opened ${open} of ${n} streams`);
          await sleep(500);
          out.fanout.push(await fanout(ctx, n, cfg.publishes));
        }
        return out;
      });
      log(`  ${kind} pass ${r + 1}: ${row.fanout.map((f) => `${f.n} → ${f.ms} ms (cpu ${f.serverCpuMs} ms)`).join(', ')}`);
      rows.push(row);
    }
  }
  return rows;
}

/** The most idle heartline WebSockets one server process holds: clients from several processes. */
async function capacityPhase(cfg, log) {
  const server = child('server-target.mjs', ['heartline'], { expose: true });
  const loads = [];
  const t0 = Date.now();
  try {
    const { port, nofile } = await server.ready;
    const base = await server.ask({ cmd: 'mem' });
    // Each connection is a descriptor of the server process: past its limit it could not even read
    // its own memory figures (EMFILE), so the run stops 100 short of it and says so.
    const cap = Math.min(cfg.max, nofile - 100);
    let held = 0;
    let stop = '';
    while (held < cap && !stop) {
      if (Date.now() - t0 > cfg.capacityMs) (stop = `time cap ${cfg.capacityMs / 1000} s`);
      else {
        if (!loads.length || loads.at(-1).count >= 15000) {
          const l = child('server-load.mjs', []);
          await l.ready;
          loads.push(Object.assign(l, { count: 0 }));
        }
        const l = loads.at(-1);
        const step = Math.min(5000, cap - held, 15000 - l.count);
        const o = await l.ask({ cmd: 'open', kind: 'heartline', port, n: step, addresses: ADDRESSES });
        l.count = o.total;
        held = loads.reduce((a, x) => a + x.count, 0);
        if (o.failed) stop = `${o.failed} of ${step} handshakes failed at ${held}`;
        log(`  ${held} connections (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    }
    await sleep(1000);
    const mem = await server.ask({ cmd: 'mem' });
    return {
      target: cfg.max,
      held: mem.connections,
      stoppedBy: stop || (cap < cfg.max ? `the server process's open-file limit, ${nofile}, which this container does not let it raise` : 'reached --max'),
      serverNofile: nofile,
      rssMiB: round(mem.rss / 1048576),
      perConnection: perConn(base, mem, Math.max(1, mem.connections)),
      seconds: round((Date.now() - t0) / 1000),
    };
  } finally {
    for (const l of loads) await l.ask({ cmd: 'close' }), await l.stop();
    await server.stop();
  }
}

export async function runServerBench({ quick = false, max = 100000, capacity = true, sizes = null, phases = null, log = console.log } = {}) {
  const want = (p) => !phases || phases.includes(p);
  if (!existsSync(join(here, '../dist/server.mjs'))) throw new Error('dist/server.mjs is missing: run `npx rollup -c` first');
  const cfg = quick
    ? { passes: 1, publishes: 5, fanoutSizes: [1000, 10000], sseSizes: [1000], ackClients: 50, ackMs: 3000, max: Math.min(max, 20000), capacityMs: 60000 }
    : { passes: 2, publishes: 15, fanoutSizes: [1000, 10000], sseSizes: [1000, 5000], ackClients: 50, ackMs: 5000, max, capacityMs: 180000 };
  if (sizes) cfg.fanoutSizes = cfg.sseSizes = sizes; // development
  const out = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgStart: loadavg().map((v) => round(v, 2)), config: cfg };
  log('server: WebSocket fan-out and idle memory (raw ws, heartline, socket.io)…');
  out.websocket = want('ws') ? await wsPhase(cfg, log) : [];
  log('server: acknowledged inbound messages…');
  out.acks = want('acks') ? await ackPhase(cfg, log) : [];
  log('server: SSE fan-out…');
  out.sse = want('sse') ? await ssePhase(cfg, log) : [];
  if (capacity && want('capacity')) {
    log(`server: idle connections one process holds (up to ${cfg.max})…`);
    out.capacity = await capacityPhase(cfg, log);
  }
  out.loadavgEnd = loadavg().map((v) => round(v, 2));
  out.summary = summarise(out);
  return out;
}

/** Medians over passes, and the ratios the issue sets targets for. */
export function summarise(r) {
  const med = (rows, kind, pick) => median(rows.filter((x) => x.kind === kind).map(pick));
  const fan = (rows, kind, n, key) => med(rows, kind, (x) => x.fanout.find((f) => f.n === n)?.[key] ?? NaN);
  const s = { websocket: [], sse: [] };
  for (const n of r.websocket.length ? r.config.fanoutSizes : []) {
    const raw = fan(r.websocket, 'raw-ws', n, 'ms');
    const row = { n };
    for (const k of ['raw-ws', 'heartline', 'socketio']) row[k] = { ms: round(fan(r.websocket, k, n, 'ms'), 2), cpuMs: round(fan(r.websocket, k, n, 'serverCpuMs'), 2) };
    row.ratio = round(raw / row.heartline.ms, 2); // heartline's speed relative to raw ws (1 = as fast)
    row.cpuRatio = round(row['raw-ws'].cpuMs / row.heartline.cpuMs, 2);
    s.websocket.push(row);
  }
  s.memory = {};
  for (const k of ['raw-ws', 'heartline', 'socketio']) s.memory[k] = { rssKiB: round(med(r.websocket, k, (x) => x.memory.rssKiB), 1), heapKiB: round(med(r.websocket, k, (x) => x.memory.heapKiB), 1) };
  s.memory.ratioToRaw = round(s.memory.heartline.rssKiB / s.memory['raw-ws'].rssKiB, 2);
  s.memory.ratioToSocketio = round(s.memory.heartline.rssKiB / s.memory.socketio.rssKiB, 2);
  s.acks = {};
  for (const k of ['raw-ws', 'heartline']) s.acks[k] = { perSec: round(med(r.acks, k, (x) => x.perSec)), perCpuSec: round(med(r.acks, k, (x) => x.perCpuSec)) };
  for (const n of r.sse.length ? r.config.sseSizes : []) {
    const raw = fan(r.sse, 'raw-sse', n, 'ms');
    const hl = fan(r.sse, 'heartline-sse', n, 'ms');
    s.sse.push({ n, raw: round(raw, 2), heartline: round(hl, 2), ratio: round(raw / hl, 2), rawCpuMs: round(fan(r.sse, 'raw-sse', n, 'serverCpuMs'), 2), heartlineCpuMs: round(fan(r.sse, 'heartline-sse', n, 'serverCpuMs'), 2) });
  }
  return s;
}

export function serverMarkdown(r) {
  const s = r.summary;
  const lines = [
    `## Server (bench/server.mjs, ${r.date.slice(0, 10)}, Node ${r.node}, ${r.cpus} cores, load ${r.loadavgStart.join(' ')} → ${r.loadavgEnd.join(' ')})`,
  ];
  if (r.websocket.length) {
    const m = s.memory;
    lines.push(
      '',
      'Fan-out of one ~100 B publish over WebSocket: publish → the last client received it, and the server CPU it took (medians). Ratios are raw `ws` / heartline (1 = as fast; target >= 0.8):',
      '',
      '| clients | raw `ws` loop | heartline | socket.io | ratio (time) | ratio (CPU) |',
      '|--:|--:|--:|--:|--:|--:|',
      ...s.websocket.map((w) => `| ${num(w.n)} | ${w['raw-ws'].ms} ms, ${w['raw-ws'].cpuMs} ms CPU | ${w.heartline.ms} ms, ${w.heartline.cpuMs} ms CPU | ${w.socketio.ms} ms, ${w.socketio.cpuMs} ms CPU | ${w.ratio}× | ${w.cpuRatio}× |`),
      '',
      `Memory per idle WebSocket (server RSS / heap + external, ${num(r.config.fanoutSizes.at(-1))} connections): raw \`ws\` ${m['raw-ws'].rssKiB} / ${m['raw-ws'].heapKiB} KiB, heartline ${m.heartline.rssKiB} / ${m.heartline.heapKiB} KiB (${m.ratioToRaw}× raw; target <= 2), socket.io ${m.socketio.rssKiB} / ${m.socketio.heapKiB} KiB (heartline ${m.ratioToSocketio}× socket.io).`,
    );
  }
  if (r.acks.length) {
    const a = s.acks;
    lines.push('', `Acknowledged inbound messages (${r.config.ackClients} clients pipelining, 64 in flight each): heartline ${num(a.heartline.perSec)}/s, ${num(a.heartline.perCpuSec)} per server CPU-second (one core); a raw \`ws\` server answering \`ack N\` to each: ${num(a['raw-ws'].perSec)}/s, ${num(a['raw-ws'].perCpuSec)} per CPU-second.`);
  }
  if (r.sse.length) {
    lines.push(
      '',
      '| SSE streams | raw `res.write` loop | heartline SSE | ratio (time) | ratio (CPU) |',
      '|--:|--:|--:|--:|--:|',
      ...s.sse.map((x) => `| ${num(x.n)} | ${x.raw} ms, ${x.rawCpuMs} ms CPU | ${x.heartline} ms, ${x.heartlineCpuMs} ms CPU | ${x.ratio}× | ${round(x.rawCpuMs / x.heartlineCpuMs, 2)}× |`),
    );
  }
  const c = r.capacity;
  if (c) lines.push('', `Idle heartline WebSockets one server process held: ${num(c.held)} (target ${num(c.target)}; stopped by: ${c.stoppedBy}), ${c.rssMiB} MiB RSS, ${c.perConnection.rssKiB} KiB RSS per connection, in ${c.seconds} s.`);
  return `${lines.join('\n')}\n`;
}

export function writeServerResults(r, name = 'server') {
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(r, null, 1)}\n`);
  writeFileSync(join(dir, `${name}.md`), serverMarkdown(r));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const max = Number(argv.find((a) => a.startsWith('--max='))?.slice(6) ?? 100000);
  const sizes = argv.find((a) => a.startsWith('--sizes='))?.slice(8).split(',').map(Number) ?? null;
  const phases = argv.find((a) => a.startsWith('--phases='))?.slice(9).split(',') ?? null;
  const r = await runServerBench({ quick: argv.includes('--quick'), max, sizes, phases, capacity: !argv.includes('--skip-capacity') });
  writeServerResults(r, sizes || phases ? 'dev-server' : 'server');
  console.log(`\n${serverMarkdown(r)}`);
  process.exit(0);
}
