// The page e2e/proxies.mjs loads through nginx or HAProxy: the ESM build, one connection, and a
// record of everything it reports, with times in ms since connect().
import * as Heartline from '/dist/heartline.mjs';

let conn = null;
let t0 = 0;
const now = () => Math.round(performance.now() - t0);
const rec = { events: [], states: [], received: [], marks: {} };

/**
 * Stretches spent not 'open' since the first open, up to now (a stretch still running counts up to
 * now): the longest, their sum and how many.
 */
function disconnected(from = 0, to = now()) {
  const spans = [];
  let down = null;
  let opened = false;
  for (const { t, s } of rec.states) {
    if (s === 'open') {
      opened = true;
      if (down !== null && t > from) spans.push(Math.min(t, to) - Math.max(down, from));
      down = null;
    } else if (opened && down === null) down = t;
  }
  if (down !== null && to > from) spans.push(to - Math.max(down, from));
  const real = spans.filter((d) => d > 0);
  return { count: real.length, longest: Math.max(0, ...real), total: real.reduce((a, b) => a + b, 0), spans: real };
}

window.__proxy = {
  ready: true,
  start(url, options = {}) {
    t0 = performance.now();
    conn = Heartline.connect(url, options);
    conn.on('state', (s, info) => rec.states.push({ t: now(), s, reason: info?.reason ?? null, transport: conn.transport ?? null }));
    conn.on('open', (i) => rec.events.push({ t: now(), type: 'open', transport: i.transport, attempt: i.attempt, resumed: i.resumed }));
    conn.on('message', (d, m) => rec.received.push({ t: now(), d: String(d), id: m.id, transport: m.transport }));
    conn.on('reconnecting', (i) =>
      rec.events.push({ t: now(), type: 'reconnecting', attempt: i.attempt, delay: i.delay, reason: i.reason, error: i.error?.code ?? null }),
    );
    conn.on('close', (c) => rec.events.push({ t: now(), type: 'close', code: c.code, reason: c.reason, clean: c.wasClean }));
    conn.on('error', (e) => rec.events.push({ t: now(), type: 'error', code: e?.code ?? null, message: String(e?.message ?? e) }));
  },
  send(text) {
    conn.send(text);
  },
  mark(name) {
    rec.marks[name] = now();
    return rec.marks[name];
  },
  state: () => ({ t: now(), state: conn?.state, transport: conn?.transport ?? null }),
  disconnected,
  record: () => rec,
  close() {
    conn?.close();
  },
};
