// Time to `open` against a plain WebSocket echo server (the `ws` package, silent until spoken to),
// with `protocol: 'auto'` (the default) and `protocol: 'plain'`, in Node with `ws` injected.
// A page session's memory (sessionStorage) is emulated with an in-memory Storage, so both costs
// show: the first connection to a URL in a page session, and every later one (a reconnect).
// Each round is a fresh page session; times are from connect() (or reconnect()) to `open`.
//
// Usage: npm run build && node bench/plain-open.mjs [--rounds=N]
// Writes bench/results/plain-open.json and prints the Markdown table bench/README.md quotes.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { connect } from '../dist/heartline.mjs';

const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 5);
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
await new Promise((r) => wss.on('listening', r));
const url = `ws://127.0.0.1:${wss.address().port}/live`;

class MemoryStorage {
  #m = new Map();
  getItem = (k) => this.#m.get(k) ?? null;
  setItem = (k, v) => void this.#m.set(k, String(v));
  removeItem = (k) => void this.#m.delete(k);
}

const opened = (conn) => new Promise((r) => conn.on('open', r));
const heartbeat = { message: 'ping', isPong: (d) => d === 'ping' };

/** ms from calling `start` to the next `open` of `conn`. */
const timeOpen = async (conn, start) => {
  const t = performance.now();
  const again = opened(conn);
  start();
  await again;
  return performance.now() - t;
};

/**
 * One page session: the first connection; a reconnect after it stayed silent (nothing sent or
 * received: the server may still be a slow protocol server); a reconnect after the server spoke
 * (an echo: now known to be plain for the page session).
 */
async function session(protocol) {
  globalThis.sessionStorage = new MemoryStorage();
  const conn = connect(url, { protocol, WebSocket, heartbeat, lazy: true }); // lazy: started by reconnect()
  const first = await timeOpen(conn, () => conn.reconnect());
  const silent = await timeOpen(conn, () => conn.reconnect());
  const seen = new Promise((r) => conn.on('message', (d) => d === 'echo?' && r()));
  conn.send('echo?');
  await seen;
  const spoken = await timeOpen(conn, () => conn.reconnect());
  conn.close();
  return { first, silent, spoken };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const results = { date: new Date().toISOString(), node: process.version, rounds, modes: {} };
for (const protocol of ['auto', 'plain']) results.modes[protocol] = { first: [], silent: [], spoken: [] };
for (let i = 0; i < rounds; i++) {
  for (const protocol of ['auto', 'plain']) {
    const r = await session(protocol);
    for (const k of ['first', 'silent', 'spoken']) results.modes[protocol][k].push(r[k]);
  }
}
wss.close();

const f = (ms) => (ms >= 100 ? `${Math.round(ms).toLocaleString('en')} ms` : `${ms.toFixed(1)} ms`);
const cell = (xs) => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
const md = [
  `Time to \`open\` against a plain \`ws\` echo server on loopback, median (range) of ${rounds} page sessions (Node ${process.version}, ${results.date.slice(0, 10)}):`,
  '',
  '| `protocol` | first connection in a page session | reconnect after a silent connection | reconnect once the server has spoken |',
  '|---|--:|--:|--:|',
  ...Object.entries(results.modes).map(
    ([p, m]) => `| \`'${p}'\`${p === 'auto' ? ' (default)' : ''} | ${cell(m.first)} | ${cell(m.silent)} | ${cell(m.spoken)} |`,
  ),
];
results.markdown = md.join('\n');
writeFileSync(new URL('./results/plain-open.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log(results.markdown);
