// heartline live demo. Served by e2e/server.mjs at /pages/demo.html.
//
// Works under a strict CSP with Trusted Types (`?csp=1`): no inline code, no innerHTML; every node
// is built with createElement/textContent. Hooks for e2e/demo.spec.mjs are plain ids and data-*
// attributes (timeline entries carry data-kind, data-transport, data-state, data-reason, data-code;
// upload entries data-phase; the upload panel #upload-text and #upload-result carry data-status;
// sent messages data-status and data-acked).
//
// The connection goes to the fixture server's heartline protocol route `/hl/demo` (e2e/SERVER.md):
// an http(s) URL, so heartline tries WebSocket, then SSE, then long-polling. The route echoes every
// delivered message back as an event with an id and answers protocol pings itself.
import { UploadError, connect } from '/dist/heartline.mjs';

const params = new URLSearchParams(location.search);
const KEY = params.get('key') || 'demo';
const SERVER_URL = `${location.protocol}//${location.host}/hl/demo?key=${encodeURIComponent(KEY)}`;
const ALL = ['websocket', 'sse', 'longpoll'];
/** `?transports=sse` (or the selector) restricts the connection to one transport. */
let picked = ALL.includes(params.get('transports') ?? '') ? params.get('transports') : 'auto';
const transports = () => (picked === 'auto' ? ALL : [picked]);

// The transport heartline is trying, seen through the constructors it is given (options.WebSocket,
// options.fetch): the SDK names the transport of an open connection, and this names the one a
// failed attempt was on. Side sockets opened while connected (the background WebSocket check) and
// the polls of an open long-poll connection do not count.
let attempted = '';
const trying = (t) => {
  if (!conn || conn.state !== 'open') attempted = t;
};
class TrackedWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    trying('websocket');
  }
}
const trackedFetch = (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  if ((init.method ?? 'GET') === 'GET' && url.includes('/hl/')) trying(/[?&]poll=1\b/.test(url) ? 'longpoll' : 'sse');
  return fetch(input, init);
};
const options = () => ({
  heartbeat: { interval: 2000, timeout: 2000 },
  reconnect: { initialDelay: 500, maxDelay: 8000 },
  upgradeAfter: 10000, // on a fallback transport, check WebSocket again after 10 s
  transports: transports(),
  WebSocket: TrackedWebSocket,
  fetch: trackedFetch,
});
/** HTTP status of the "Refuse new" fault: 500 is retried (403 would mean "bad credentials", 503 "later"). */
const REFUSE_STATUS = 500;
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
  blockWs: $('btn-block-ws'), buffering: $('btn-buffering'), transports: /** @type {HTMLSelectElement} */ ($('transports')),
  rtt: $('rtt'),
};
ui.transports.value = picked;
$('server-url').textContent = SERVER_URL;
$('key-name').textContent = KEY;

// ---------------------------------------------------------------------------------------------
// Timeline

let lastHeartbeatEntry = null; // consecutive heartbeats collapse into one row

/** The transport a row happened on: the open one, else the one being tried. */
const transportNow = () => conn?.transport ?? attempted ?? '';

function addEntry(kind, title, detail, data = {}) {
  lastHeartbeatEntry = null;
  const transport = data.transport ?? transportNow();
  const entry = h('li', { class: `entry kind-${kind}`, data: { kind, ...data, transport } },
    h('time', { text: clock() }),
    h('span', { class: 'tag', text: kind }),
    h('span', { class: 'via', text: transport || '—', title: 'transport' }),
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
/** Round trips are shown only while connected; a stale figure would read as a live one. */
function showRtt(live) {
  if (ui.rtt.dataset.live === String(live)) return;
  ui.rtt.dataset.live = String(live);
  ui.rttList.hidden = !live;
  ui.rttLast.textContent = live && rtts.length ? `${rtts[rtts.length - 1]} ms` : '—';
  ui.rttStats.textContent = live ? (rtts.length ? ui.rttStats.dataset.text ?? '' : 'waiting for the first ping') : 'not connected';
}
function recordRtt(rtt) {
  rtts.push(rtt);
  if (rtts.length > RTT_KEEP) rtts.shift();
  ui.rttLast.textContent = `${rtt} ms`;
  const min = Math.min(...rtts), max = Math.max(...rtts);
  const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
  ui.rttStats.dataset.text = `min ${min} · avg ${avg.toFixed(1)} · max ${max} ms (last ${rtts.length})`;
  ui.rttStats.textContent = ui.rttStats.dataset.text;
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
const RANK = { '': 0, queued: 1, sent: 2, acked: 3, echoed: 4, failed: 5 };
/**
 * Every step a message went through stays visible ("queued → acked → echoed"): the echo (an
 * event) may overtake the ack, and a queued message is acknowledged after the reconnect like any
 * other. `data-status` is the furthest step, `data-acked` whether the server acknowledged it.
 */
function setStatus(item, status) {
  item.steps.add(status);
  if (status === 'acked') item.node.dataset.acked = 'true';
  if (RANK[status] >= RANK[item.status]) item.status = status;
  const shown = ['queued', 'acked', 'echoed', 'failed'].filter((s) => item.steps.has(s));
  item.chip.textContent = (shown.length ? shown : [item.status]).join(' → ');
  item.chip.className = `chip ${item.status}`;
  item.node.dataset.status = item.status;
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
  showRtt(state === 'open');
}

/**
 * One source of truth for why the state is what it is: the status card shows exactly the text of
 * the latest state or reconnecting row of the timeline.
 */
const why = (reason, error) => [reason, error ? (error.code ?? error.name) : ''].filter(Boolean).join(' · ');
function setReason(text, reason) {
  ui.stateReason.textContent = text;
  ui.stateReason.dataset.reason = reason ?? '';
}

function start() {
  for (const off of unsubscribers) off();
  unsubscribers = [];
  attempted = transports()[0];
  conn = connect(SERVER_URL, options());
  $('settings-transports').textContent = transports().join(' → ');
  addEntry('connect', 'connect()', `${SERVER_URL} · transports: ${transports().join(', ')}`);
  const on = (type, fn) => unsubscribers.push(conn.on(type, (...args) => { fn(...args); render(); }));

  let lastError = null; // the error event just before a state change or a retry names its code
  on('state', (state, info = {}) => {
    const reason = info.reason ?? '';
    const text = why(reason, state === 'open' ? null : lastError);
    lastError = null;
    setReason(text, reason);
    addEntry('state', `${info.previous ?? '?'} → ${state}`, text, { state, reason, previous: info.previous });
    if (state !== 'reconnecting') stopCountdowns(state === 'closed' ? 'cancelled' : 'trying now');
  });
  on('open', (info = {}) => {
    attempted = info.transport ?? attempted;
    opens += 1;
    ui.opens.textContent = String(opens);
    if (info.attempt !== undefined) ui.attempt.textContent = String(info.attempt);
    // `resumed`: the server replayed the event log after our last event id (it had one to go on).
    const bits = [`attempt ${info.attempt ?? '?'}`,
      info.resumed ? `resumed after event ${conn.lastEventId || '?'}` : conn.lastEventId ? 'not resumed' : 'no event id yet'];
    addEntry('open', `open via ${info.transport ?? conn.transport ?? '?'}`, bits.join(' · '),
      { transport: info.transport, resumed: String(!!info.resumed) });
    flushQueued();
    upload.reopened();
  });
  on('reconnecting', (info = {}) => {
    if (info.attempt !== undefined) ui.attempt.textContent = String(info.attempt);
    const text = why(info.reason, info.error);
    lastError = null;
    setReason(text, info.reason);
    const delay = Math.round(Number(info.delay) || 0);
    const entry = addEntry('reconnecting', `attempt ${info.attempt} in ${delay} ms`,
      text, { attempt: info.attempt, delay, reason: info.reason });
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
    lastError = err;
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
  ui.refuse.textContent = on ? 'Accept new' : 'Refuse new';
  ui.refuse.setAttribute('aria-pressed', String(on));
}

/** A network condition toggled on the server for this key (`block-ws`, `buffering`): the button's label stays, aria-pressed says. */
function toggle(button, action) {
  button.addEventListener('click', async () => {
    const want = button.getAttribute('aria-pressed') !== 'true';
    if (await control(action, `on=${want ? 1 : 0}`)) button.setAttribute('aria-pressed', String(want));
  });
}
toggle(ui.blockWs, 'block-ws');
toggle(ui.buffering, 'buffering');
ui.transports.addEventListener('change', () => {
  picked = ui.transports.value;
  addEntry('you', `transports: ${transports().join(', ')}`, 'conn.close(), then connect() with the new transports');
  conn?.close(1000, 'transports changed');
  start();
});

$('btn-drop').addEventListener('click', () => control('drop', 'code=1012&reason=demo%20drop'));
$('btn-destroy').addEventListener('click', () => control('destroy'));
$('btn-blackhole').addEventListener('click', () => control('blackhole'));
$('btn-restart').addEventListener('click', () => control('restart', 'down=1500'));
ui.refuse.addEventListener('click', async () => {
  const want = !refusing;
  if (await control(want ? 'refuse' : 'accept', want ? `status=${REFUSE_STATUS}` : '')) setRefusing(want);
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
  const item = { text, node, chip, status: '', steps: new Set() };
  const wasOpen = conn.state === 'open';
  try {
    conn.sendWithAck(text).then(
      () => setStatus(item, 'acked'),
      (err) => {
        setStatus(item, 'failed');
        item.chip.title = err?.message ?? String(err);
      },
    );
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
// Upload: conn.upload(file, { onProgress, signal }), resumed by heartline after every reconnect

const MiB = 1024 * 1024;
const mib = (n) => (n / MiB).toFixed(n >= 100 * MiB ? 0 : 2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A Blob that hands out its bytes at most `rate` bytes per ms, however heartline reads it (a byte
 * stream for BYOB readers, or slices): on loopback a file is otherwise gone before anyone can press
 * Drop. Only the reading is paced; what is read goes to the network at once.
 */
class PacedBlob extends Blob {
  constructor(parts, options, rate) {
    super(parts, options);
    this.rate = rate;
  }
  slice(start, end, type) {
    return new PacedBlob([super.slice(start, end, type)], { type: type ?? this.type }, this.rate);
  }
  async arrayBuffer() {
    await sleep(this.size / this.rate);
    return super.arrayBuffer();
  }
  stream() {
    const source = super.stream().getReader();
    const rate = this.rate;
    const PIECE = 64 * 1024;
    let left = new Uint8Array(0);
    return new ReadableStream({
      type: 'bytes',
      async pull(controller) {
        if (!left.byteLength) {
          const { value, done } = await source.read();
          if (done) {
            controller.close();
            controller.byobRequest?.respond(0);
            return;
          }
          left = value;
        }
        const piece = left.slice(0, PIECE); // a copy: enqueue() takes its buffer over
        left = left.subarray(piece.byteLength);
        await sleep(piece.byteLength / rate);
        controller.enqueue(piece);
      },
      cancel: (reason) => source.cancel(reason),
    });
  }
}

const upload = (() => {
  const el = {
    file: /** @type {HTMLInputElement} */ ($('upload-file')),
    pace: /** @type {HTMLSelectElement} */ ($('upload-pace')),
    start: /** @type {HTMLButtonElement} */ ($('btn-upload')),
    abort: /** @type {HTMLButtonElement} */ ($('btn-abort')),
    progress: /** @type {HTMLProgressElement} */ ($('upload-progress')),
    text: $('upload-text'), result: $('upload-result'), status: $('upload-status'),
    id: $('upload-id'), size: $('upload-size'), sha256: $('upload-sha256'),
  };
  /** the running upload: { file, controller, samples, resumes, waitingForOffset, last } */
  let run = null;

  const setText = (text, status) => {
    el.text.textContent = text;
    el.text.dataset.status = status;
  };
  const buttons = () => {
    el.start.disabled = !!run || !el.file.files?.length;
    el.abort.disabled = !run;
    el.file.disabled = !!run;
    el.pace.disabled = !!run;
  };
  const showResult = (status, fields) => {
    el.result.hidden = false;
    el.result.dataset.status = status;
    el.status.textContent = fields.status;
    el.id.textContent = fields.id ?? '—';
    el.size.textContent = fields.size ?? '—';
    el.sha256.textContent = fields.sha256 ?? '—';
  };

  /** MB/s (10^6 bytes) of acknowledged bytes over the last 2 s. */
  const rate = (samples) => {
    const [t0, b0] = samples[0];
    const [t1, b1] = samples[samples.length - 1];
    return t1 > t0 ? (b1 - b0) / 1000 / (t1 - t0) : 0;
  };

  function onProgress({ sent, acknowledged, total }) {
    if (!run) return;
    const now = performance.now();
    if (run.waitingForOffset) {
      // the first progress after a reconnect is the server's `up.offset`: where the upload goes on
      run.waitingForOffset = false;
      if (run.opened) {
        run.resumes += 1;
        run.samples = [];
        addEntry('upload', `upload resumes at ${mib(acknowledged)} of ${mib(total)} MiB`,
          `up.open → up.offset ${acknowledged}: the server holds these bytes, the rest follows`,
          { phase: 'resume', offset: acknowledged });
      }
      run.opened = true;
    }
    run.samples.push([now, acknowledged]);
    while (run.samples.length > 2 && now - run.samples[0][0] > 2000) run.samples.shift();
    el.progress.max = Math.max(1, total);
    el.progress.value = acknowledged;
    const resumed = run.resumes ? ` · resumed ${run.resumes}×` : '';
    setText(`sent ${mib(sent)} / acknowledged ${mib(acknowledged)} of ${mib(total)} MiB, ` +
      `${rate(run.samples).toFixed(1)} MB/s${resumed}`, 'running');
  }

  async function start() {
    const file = el.file.files?.[0];
    if (!file || run || !conn) return;
    const pace = Number(el.pace.value) || 0; // MB/s; 0: full speed
    const blob = pace ? new PacedBlob([file], { type: file.type }, pace * 1000) : file;
    const controller = new AbortController();
    run = { file, controller, samples: [], resumes: 0, waitingForOffset: true, opened: false };
    const began = performance.now();
    buttons();
    el.result.hidden = true;
    el.progress.value = 0;
    el.progress.max = Math.max(1, file.size);
    setText(`asking the server where to start (up.open)… ${mib(file.size)} MiB`, 'running');
    addEntry('upload', `upload ${file.name}`, `${file.size} bytes${pace ? `, read at ${pace} MB/s` : ''}`,
      { phase: 'start', size: file.size });
    try {
      const result = await conn.upload(blob, {
        name: file.name,
        type: file.type,
        metadata: { from: 'heartline demo', paced: pace || null },
        chunkSize: pace ? 256 * 1024 : undefined, // paced: smaller chunks, so progress moves smoothly
        signal: controller.signal,
        onProgress,
      });
      const seconds = ((performance.now() - began) / 1000).toFixed(1);
      const resumed = run.resumes ? `, resumed ${run.resumes}×` : '';
      el.progress.value = el.progress.max;
      setText(`done: ${mib(result.size)} MiB in ${seconds} s${resumed}`, 'done');
      showResult('done', { status: `done${resumed}`, id: result.id, size: `${result.size} bytes`, sha256: result.sha256 ?? '(none)' });
      addEntry('upload', `upload done: ${result.size} bytes`, `sha256 ${result.sha256}`, { phase: 'done' });
    } catch (err) {
      const reason = err instanceof UploadError ? err.reason : (err?.code ?? err?.name ?? 'error');
      setText(`failed (${reason}): ${err?.message ?? err}`, 'failed');
      showResult('failed', { status: `failed: ${reason}` });
      addEntry('upload', `upload failed: ${reason}`, err?.message ?? String(err), { phase: 'failed', reason });
    } finally {
      run = null;
      buttons();
    }
  }

  el.file.addEventListener('change', () => {
    const file = el.file.files?.[0];
    if (!run) setText(file ? `${file.name}: ${mib(file.size)} MiB, ready` : 'No file chosen.', 'idle');
    buttons();
  });
  el.start.addEventListener('click', () => void start());
  el.abort.addEventListener('click', () => {
    if (!run) return;
    addEntry('you', 'abort upload', 'AbortController.abort() → the upload\u2019s signal');
    run.controller.abort();
  });
  buttons();

  return {
    /** The connection (re)opened: heartline sends `up.open` again; the answer is the next progress. */
    reopened() {
      if (run) run.waitingForOffset = true;
    },
  };
})();

// ---------------------------------------------------------------------------------------------
// Go. A reload while "Refuse new" was on would otherwise leave this key refused.
window.addEventListener('securitypolicyviolation', (e) => {
  addEntry('error', 'CSP violation', `${e.violatedDirective}: ${e.blockedURI || 'inline'}`, { code: 'csp' });
});
// A reload also lifts "Block WebSocket" and "Buffering proxy".
Promise.all(['accept', 'block-ws?on=0', 'buffering?on=0'].map((a) =>
  fetch(`/control/${encodeURIComponent(KEY)}/${a}`, { method: 'POST', cache: 'no-store' }).catch(() => undefined)))
  .finally(start);
