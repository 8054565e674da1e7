// heartline live demo. Served by e2e/server.mjs at /pages/demo.html.
//
// Works under a strict CSP with Trusted Types (`?csp=1`): no inline code, no innerHTML; every node
// is built with createElement/textContent. Hooks for e2e/demo.spec.mjs are plain ids and data-*
// attributes (timeline entries carry data-kind, data-state, data-reason, data-code).
import { connect } from '/dist/heartline.mjs';

const params = new URLSearchParams(location.search);
const KEY = params.get('key') || 'demo';
const WS_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/echo?key=${encodeURIComponent(KEY)}`;
const OPTIONS = {
  heartbeat: { interval: 2000, timeout: 2000, message: 'ping', isPong: (d) => d === 'ping' },
  reconnect: { initialDelay: 500, maxDelay: 8000 },
};
const TIMELINE_MAX = 200;
const MESSAGES_MAX = 50;
const RTT_KEEP = 40;
const RTT_SHOW = 8;

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`demo.html is missing #${id}`);
  return node;
};

/** createElement with class, text, attributes and children; never parses markup. */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = String(value);
    else if (name === 'data') for (const [k, v] of Object.entries(value)) { if (v !== undefined) node.dataset[k] = String(v); }
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');
function clock(date = new Date()) {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
const seconds = (ms) => `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
const describe = (data) => {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return `[binary, ${data.byteLength} bytes]`;
  if (ArrayBuffer.isView(data)) return `[binary, ${data.byteLength} bytes]`;
  if (typeof Blob !== 'undefined' && data instanceof Blob) return `[blob, ${data.size} bytes]`;
  try { return JSON.stringify(data); } catch { return String(data); }
};

// ---------------------------------------------------------------------------------------------
// Elements
const ui = {
  state: $('state'), stateReason: $('state-reason'), transport: $('transport'), attempt: $('attempt'),
  opens: $('opens'), lastEventId: $('last-event-id'), countdown: $('countdown'),
  rttLast: $('rtt-last'), rttStats: $('rtt-stats'), rttList: $('rtt-list'),
  spark: /** @type {SVGPolylineElement} */ ($('sparkline').querySelector('.spark-line')),
  timeline: $('timeline'), sent: $('sent'), received: $('received'),
  form: $('send-form'), input: /** @type {HTMLInputElement} */ ($('message')),
  reconnect: $('btn-reconnect'), close: $('btn-close'), refuse: $('btn-refuse'),
};
$('ws-url').textContent = WS_URL;
$('key-name').textContent = KEY;

// ---------------------------------------------------------------------------------------------
// Timeline

let lastHeartbeatEntry = null; // consecutive heartbeats collapse into one row

function addEntry(kind, title, detail, data = {}) {
  lastHeartbeatEntry = null;
  const entry = h('li', { class: `entry kind-${kind}`, data: { kind, ...data } },
    h('time', { text: clock() }),
    h('span', { class: 'tag', text: kind }),
    h('span', { class: 'what' }, h('b', { text: title }), detail ? h('span', { class: 'detail', text: detail }) : null),
  );
  ui.timeline.prepend(entry);
  while (ui.timeline.childElementCount > TIMELINE_MAX) ui.timeline.lastElementChild?.remove();
  return entry;
}

function heartbeatEntry(rtt) {
  if (lastHeartbeatEntry && ui.timeline.firstElementChild === lastHeartbeatEntry.node) {
    const hb = lastHeartbeatEntry;
    hb.count += 1;
    hb.node.querySelector('time').textContent = clock();
    hb.title.textContent = `pong in ${rtt} ms`;
    hb.detail.textContent = `×${hb.count} in a row`;
    hb.node.dataset.count = String(hb.count);
    return;
  }
  const node = addEntry('heartbeat', `pong in ${rtt} ms`, '', { rtt });
  const what = node.querySelector('.what');
  const detail = h('span', { class: 'detail' });
  what.append(detail);
  lastHeartbeatEntry = { node, count: 1, title: what.querySelector('b'), detail };
}

// Countdowns: a reconnecting entry shows the scheduled delay and counts down to the next attempt.
const countdowns = new Set();
let ticker = 0;
function startCountdown(span, delay) {
  const item = { span, due: performance.now() + delay };
  countdowns.add(item);
  if (!ticker) ticker = setInterval(tick, 100);
  tick();
}
function stopCountdowns(finalText) {
  for (const item of countdowns) item.span.textContent = finalText;
  countdowns.clear();
  tick();
}
function tick() {
  const now = performance.now();
  let next = Infinity;
  for (const item of countdowns) {
    const left = item.due - now;
    if (left <= 0) { item.span.textContent = 'trying now'; countdowns.delete(item); continue; }
    item.span.textContent = `next try in ${seconds(left)}`;
    next = Math.min(next, left);
  }
  ui.countdown.textContent = next === Infinity ? '—' : seconds(next);
  if (!countdowns.size && ticker) { clearInterval(ticker); ticker = 0; }
}

// ---------------------------------------------------------------------------------------------
// Heartbeat RTTs

const rtts = [];
function recordRtt(rtt) {
  rtts.push(rtt);
  if (rtts.length > RTT_KEEP) rtts.shift();
  ui.rttLast.textContent = `${rtt} ms`;
  const min = Math.min(...rtts), max = Math.max(...rtts);
  const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
  ui.rttStats.textContent = `min ${min} · avg ${avg.toFixed(1)} · max ${max} ms (last ${rtts.length})`;
  ui.rttList.replaceChildren(...rtts.slice(-RTT_SHOW).reverse().map((v) => h('li', { text: `${v}` })));
  // Sparkline: the kept samples spread over the width, y scaled to the largest (at least 5 ms).
  const top = Math.max(5, max);
  const step = 240 / Math.max(1, rtts.length - 1);
  ui.spark.setAttribute('points', rtts.map((v, i) => `${(i * step).toFixed(1)},${(42 - (v / top) * 38).toFixed(1)}`).join(' '));
}

// ---------------------------------------------------------------------------------------------
// Messages: sent (with queued/sent/echoed status) and received

const outbox = []; // sent items waiting for their echo, oldest first

function pushMessage(list, node) {
  list.querySelector('.empty')?.remove();
  list.prepend(node);
  while (list.childElementCount > MESSAGES_MAX) list.lastElementChild?.remove();
}
function setStatus(item, status) {
  if (status === 'queued') item.wasQueued = true;
  item.status = status;
  // keep the queue effect visible after delivery: "queued → echoed"
  item.chip.textContent = item.wasQueued && status !== 'queued' ? `queued → ${status}` : status;
  item.chip.className = `chip ${status}`;
  item.node.dataset.status = status;
}
function flushQueued() {
  for (const item of outbox) if (item.status === 'queued') setStatus(item, 'sent');
}

// ---------------------------------------------------------------------------------------------
// The connection

let conn = null;
let unsubscribers = [];
let opens = 0;

function render() {
  const state = conn ? conn.state : 'idle';
  ui.state.textContent = state;
  ui.state.dataset.state = state;
  document.documentElement.dataset.state = state;
  ui.transport.textContent = conn?.transport ?? '—';
  ui.lastEventId.textContent = conn?.lastEventId ? conn.lastEventId : '— (none yet)';
  ui.reconnect.textContent = state === 'closed' ? 'Connect' : 'Reconnect now';
  ui.close.disabled = state === 'closed';
}

function start() {
  for (const off of unsubscribers) off();
  unsubscribers = [];
  conn = connect(WS_URL, OPTIONS);
  addEntry('connect', 'connect()', `${WS_URL}`);
  const on = (type, fn) => unsubscribers.push(conn.on(type, (...args) => { fn(...args); render(); }));

  on('state', (state, info = {}) => {
    const reason = info.reason ?? '';
    ui.stateReason.textContent = reason ? `reason: ${reason}` : '';
    addEntry('state', `${info.previous ?? '?'} → ${state}`, reason, { state, reason, previous: info.previous });
    if (state !== 'reconnecting') stopCountdowns(state === 'closed' ? 'cancelled' : 'trying now');
  });
  on('open', (info = {}) => {
    opens += 1;
    ui.opens.textContent = String(opens);
    if (info.attempt !== undefined) ui.attempt.textContent = String(info.attempt);
    const bits = [`attempt ${info.attempt ?? '?'}`, info.resumed ? 'resumed' : 'fresh session'];
    addEntry('open', `open via ${info.transport ?? conn.transport ?? '?'}`, bits.join(' · '), { transport: info.transport });
    flushQueued();
  });
  on('reconnecting', (info = {}) => {
    if (info.attempt !== undefined) ui.attempt.textContent = String(info.attempt);
    const err = info.error ? ` · ${info.error.code ?? info.error.name ?? 'error'}` : '';
    const delay = Math.round(Number(info.delay) || 0);
    const entry = addEntry('reconnecting', `attempt ${info.attempt} in ${delay} ms`,
      `${info.reason ?? ''}${err}`, { attempt: info.attempt, delay, reason: info.reason });
    const span = h('span', { class: 'countdown' });
    entry.querySelector('.what').append(span);
    stopCountdowns('attempt failed');
    startCountdown(span, delay);
  });
  on('close', (info = {}) => {
    const bits = [info.wasClean ? 'clean' : 'unclean', info.willReconnect ? 'will reconnect' : 'no reconnect'];
    if (info.reason) bits.unshift(`“${info.reason}”`);
    addEntry('close', `close ${info.code ?? ''}`.trim(), bits.join(' · '), { code: info.code, clean: info.wasClean });
  });
  on('error', (err) => {
    const code = err?.code ?? err?.name ?? 'Error';
    addEntry('error', String(code), err?.message ?? String(err), { code });
  });
  on('heartbeat', (info = {}) => {
    const rtt = Math.round(Number(info.rtt));
    recordRtt(rtt);
    heartbeatEntry(rtt);
  });
  on('message', (data, meta = {}) => {
    const text = describe(data);
    const index = outbox.findIndex((item) => item.text === text);
    let echoOf = null;
    if (index !== -1) {
      echoOf = outbox.splice(index, 1)[0];
      setStatus(echoOf, 'echoed');
    }
    pushMessage(ui.received, h('li', { data: { text } },
      h('time', { text: clock() }),
      h('span', { class: 'body', text }),
      echoOf ? h('span', { class: 'chip echoed', text: 'echo' }) : null,
      meta.id ? h('span', { class: 'muted', text: `id ${meta.id}` }) : null,
    ));
  });
  render();
}

// ---------------------------------------------------------------------------------------------
// Buttons

async function control(action, query = '') {
  const url = `/control/${encodeURIComponent(KEY)}/${action}${query ? `?${query}` : ''}`;
  const entry = addEntry('you', `server: ${action}`, 'requesting…', { action });
  const detail = entry.querySelector('.detail');
  try {
    const res = await fetch(url, { method: 'POST', cache: 'no-store' });
    detail.textContent = `${url} → HTTP ${res.status}`;
    if (!res.ok) entry.classList.add('failed');
    return res.ok;
  } catch (err) {
    detail.textContent = `${url} → ${err?.message ?? err}`;
    entry.classList.add('failed');
    return false;
  }
}

let refusing = false;
function setRefusing(on) {
  refusing = on;
  ui.refuse.textContent = on ? 'Accept upgrades' : 'Refuse upgrades';
  ui.refuse.setAttribute('aria-pressed', String(on));
}

$('btn-drop').addEventListener('click', () => control('drop', 'code=1012&reason=demo%20drop'));
$('btn-destroy').addEventListener('click', () => control('destroy'));
$('btn-blackhole').addEventListener('click', () => control('blackhole'));
$('btn-restart').addEventListener('click', () => control('restart', 'down=1500'));
ui.refuse.addEventListener('click', async () => {
  const want = !refusing;
  if (await control(want ? 'refuse' : 'accept', want ? 'status=403' : '')) setRefusing(want);
});
ui.reconnect.addEventListener('click', () => {
  if (!conn || conn.state === 'closed') { start(); return; }
  addEntry('you', 'conn.reconnect()', '');
  conn.reconnect();
  render();
});
ui.close.addEventListener('click', () => {
  if (!conn) return;
  addEntry('you', 'conn.close(1000)', '');
  conn.close(1000, 'closed from the demo');
  render();
});

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.input.value.trim();
  if (!text || !conn) return;
  const chip = h('span', { class: 'chip' });
  const node = h('li', { data: { text } }, h('time', { text: clock() }), h('span', { class: 'body', text }), chip);
  const item = { text, node, chip, status: '', wasQueued: false };
  const wasOpen = conn.state === 'open';
  try {
    conn.send(text);
  } catch (err) {
    setStatus(item, 'failed');
    pushMessage(ui.sent, node);
    addEntry('error', String(err?.code ?? err?.name ?? 'Error'), err?.message ?? String(err));
    return;
  }
  setStatus(item, wasOpen ? 'sent' : 'queued');
  outbox.push(item);
  pushMessage(ui.sent, node);
  ui.input.value = '';
  ui.input.focus({ preventScroll: true });
});

// ---------------------------------------------------------------------------------------------
// Go. A reload while "Refuse upgrades" was on would otherwise leave this key refused.
window.addEventListener('securitypolicyviolation', (e) => {
  addEntry('error', 'CSP violation', `${e.violatedDirective}: ${e.blockedURI || 'inline'}`, { code: 'csp' });
});
fetch(`/control/${encodeURIComponent(KEY)}/accept`, { method: 'POST', cache: 'no-store' })
  .catch(() => undefined)
  .finally(start);
