// Every contestant behind one small adapter, and the settings ("presets") each scenario uses.
// Imported by the benchmark page (browser) and by bench/run.mjs (Node, for labels and the
// server-side settings), so the options measured and the options reported are one table.
// Nothing here touches a browser global at import time.
//
// adapter(lib, url, preset, h) -> { send(value), close() }
//   lib: the contestant's bundled module (bench/.build/lib/<lib>), url: where to connect,
//   h: { open(), message(value), close(info) } — message gets the parsed JSON object when
//   preset.json (throughput scenarios), else the text as received.

const isPong = (d) => d === 'pong';
/** heartline against a plain WebSocket server, as its README shows: the app gives the ping. */
const PLAIN_HEARTBEAT = { message: 'ping', isPong };
const toText = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Heartline's SSE transport is being written (lead, src/transports/). When it lands, set this to
 * true: the SSE scenarios then run heartline-sse next to EventSource and fetch-event-source, with
 * the adapter and presets already below. Until then it is reported as pending, never faked.
 */
export const HEARTLINE_SSE_READY = true;

/** Every SSE server in the reconnect, black-hole and idle scenarios sends a `: ka` comment this often (ms). */
const SSE_KEEPALIVE = 15000;

export const CONTESTANTS = {
  'raw-ws': {
    label: 'raw WebSocket',
    kind: 'ws',
    lib: null,
    presets: {
      throughput: { json: true, describe: 'new WebSocket(url); JSON.parse/JSON.stringify in the app' },
      defaults: { reconnect: true, describe: 'hand-written: reconnect at once after a close, then every 250 ms while failing; no liveness check' },
    },
  },
  heartline: {
    label: 'heartline',
    kind: 'ws',
    lib: 'heartline.mjs',
    presets: {
      throughput: { options: { json: true }, describe: "connect(url, { json: true })" },
      defaults: { options: { heartbeat: PLAIN_HEARTBEAT }, describe: "defaults + heartbeat { message: 'ping', isPong } (README, plain server): interval 25 s, timeout 10 s, reconnect 500 ms..30 s full jitter" },
      tuned: { options: { heartbeat: PLAIN_HEARTBEAT, reconnect: { initialDelay: 100, maxDelay: 1000 } }, describe: 'reconnect { initialDelay: 100, maxDelay: 1000 }' },
      tight: { options: { heartbeat: { ...PLAIN_HEARTBEAT, interval: 1000, timeout: 1000 } }, describe: 'heartbeat { interval: 1000, timeout: 1000 }' },
      quiet: { options: { heartbeat: false }, describe: 'heartbeat: false (no liveness check)' },
    },
  },
  partysocket: {
    label: 'partysocket',
    kind: 'ws',
    lib: 'partysocket.mjs',
    presets: {
      throughput: { json: true, options: {}, describe: "new WebSocket(url) from 'partysocket'" },
      defaults: { options: {}, describe: 'defaults (minReconnectionDelay 3000, grow 1.3, max 10000); no liveness check' },
      tuned: { options: { minReconnectionDelay: 100, maxReconnectionDelay: 1000 }, describe: '{ minReconnectionDelay: 100, maxReconnectionDelay: 1000 }' },
    },
  },
  rws: {
    label: 'reconnecting-websocket',
    kind: 'ws',
    lib: 'rws.mjs',
    presets: {
      throughput: { json: true, options: {}, describe: 'new ReconnectingWebSocket(url)' },
      defaults: { options: {}, describe: 'defaults (minReconnectionDelay 1000 + random 0..4000, grow 1.3, max 10000); no liveness check' },
      tuned: { options: { minReconnectionDelay: 100, maxReconnectionDelay: 1000 }, describe: '{ minReconnectionDelay: 100, maxReconnectionDelay: 1000 }' },
    },
  },
  socketio: {
    label: 'socket.io-client',
    kind: 'sio',
    lib: 'socketio.mjs',
    presets: {
      throughput: { options: { transports: ['websocket'] }, describe: "io(url, { transports: ['websocket'] }); server socket.emit('m', object)" },
      defaults: { options: {}, describe: 'defaults (polling then websocket; reconnectionDelay 1000 ±50 %, max 5000; server pingInterval 25 s + pingTimeout 20 s)' },
      tuned: { options: { reconnectionDelay: 100, reconnectionDelayMax: 1000 }, describe: '{ reconnectionDelay: 100, reconnectionDelayMax: 1000 }' },
      tight: { options: {}, victim: { pingInterval: 1000, pingTimeout: 1000 }, describe: 'server { pingInterval: 1000, pingTimeout: 1000 }' },
    },
  },
  'raw-sse': {
    label: 'EventSource (native)',
    kind: 'sse',
    lib: null,
    presets: {
      throughput: { json: true, describe: 'new EventSource(url); JSON.parse in the app' },
      defaults: { victim: { keepalive: SSE_KEEPALIVE }, describe: "browser's own reconnect (no server retry: field); no liveness check" },
      tuned: { victim: { retry: 100, keepalive: SSE_KEEPALIVE }, describe: 'server sends retry: 100' },
    },
  },
  fes: {
    label: '@microsoft/fetch-event-source',
    kind: 'sse',
    lib: 'fes.mjs',
    presets: {
      throughput: { json: true, describe: 'fetchEventSource(url, { onmessage, openWhenHidden: true })' },
      defaults: { victim: { keepalive: SSE_KEEPALIVE }, describe: 'defaults (retry 1000 ms) + onclose that throws to retry (its README pattern); no liveness check' },
      tuned: { victim: { retry: 100, keepalive: SSE_KEEPALIVE }, describe: 'server sends retry: 100' },
    },
  },
  'heartline-sse': {
    label: 'heartline (SSE)',
    kind: 'sse',
    lib: 'heartline.mjs',
    pending: HEARTLINE_SSE_READY ? undefined : 'pending: transport not yet built',
    presets: {
      throughput: { options: { json: true, transports: ['sse'] }, describe: "connect(httpUrl, { json: true, transports: ['sse'] })" },
      defaults: { options: { transports: ['sse'] }, victim: { keepalive: SSE_KEEPALIVE }, describe: "connect(httpUrl, { transports: ['sse'] })" },
      tuned: { options: { transports: ['sse'], reconnect: { initialDelay: 100, maxDelay: 1000 } }, victim: { retry: 100, keepalive: SSE_KEEPALIVE }, describe: 'reconnect { initialDelay: 100, maxDelay: 1000 }' },
      tight: { options: { transports: ['sse'], heartbeat: { interval: 1000, timeout: 1000 } }, victim: { keepalive: 500 }, describe: 'heartbeat { interval: 1000, timeout: 1000 }; server keep-alive every 500 ms' },
    },
  },
  // Uploads (the "upload" phase, pages/upload.mjs): one Blob, raw gated loop as the baseline.
  'raw-ws-up': {
    label: 'raw WebSocket, gated loop',
    kind: 'upload',
    lib: null,
    presets: {
      upload: { describe: 'blob.stream() BYOB reader into one reused 1 MiB buffer; ws.send(view); wait (setTimeout 1 ms polls) while bufferedAmount ≥ 4 MiB' },
    },
  },
  'fetch-up': {
    label: 'fetch POST',
    kind: 'upload',
    lib: null,
    presets: {
      upload: { describe: "fetch(url, { method: 'POST', body: blob }): one request (round trips over a separate WebSocket)" },
    },
  },
  'heartline-up': {
    label: 'heartline upload',
    kind: 'upload',
    lib: 'heartline.mjs',
    presets: {
      // heartbeat.interval 200: a ping whenever 200 ms pass without inbound traffic, so heartline's
      // own heartbeat events would show up at the raw loop's ping rate if the upload left gaps.
      upload: { options: { heartbeat: { interval: 200 } }, describe: 'connect(wsUrl, { heartbeat: { interval: 200 } }); conn.upload(blob) with default chunkSize 1 MiB, highWaterMark 4 MiB; the fixture server (e2e/server.mjs) verifies each chunk\'s offset and check, writes it to a temp file and hashes the whole file (SHA-256)' },
    },
  },
  'heartline-up-lean': {
    label: 'heartline upload, lean server',
    kind: 'upload',
    lib: 'heartline.mjs',
    presets: {
      upload: { options: { heartbeat: { interval: 200 } }, describe: 'the same client against a server that acknowledges each chunk and discards it, like the raw loop\'s sink (bench/lib/upload-server.mjs): the client\'s own cost' },
    },
  },
  tus: {
    label: 'tus-js-client',
    kind: 'upload',
    lib: 'tus.mjs',
    presets: {
      upload: { options: {}, describe: 'new Upload(blob, { endpoint }) with defaults (chunkSize Infinity: one PATCH); minimal tus server (bench/lib/upload-server.mjs), bytes discarded (round trips over a separate WebSocket)' },
    },
  },
};

const heartline = (lib, url, p, h) => {
  const conn = lib.connect(url, p.options);
  conn.on('open', () => h.open());
  conn.on('message', (d) => h.message(d));
  conn.on('close', (e) => h.close(`close ${e.code}`));
  return { send: (v) => conn.send(v), close: () => conn.close() };
};

// A reconnecting-websocket-style class (partysocket's WebSocket, reconnecting-websocket).
const rwsLike = (Ctor) => (url, p, h) => {
  const ws = new Ctor(url, undefined, p.options);
  ws.addEventListener('open', () => h.open());
  ws.addEventListener('message', (e) => h.message(p.json ? JSON.parse(e.data) : e.data));
  ws.addEventListener('close', (e) => h.close(`close ${e.code}`));
  return { send: (v) => ws.send(toText(v)), close: () => ws.close() };
};

export const ADAPTERS = {
  'raw-ws'(_lib, url, p, h) {
    let ws;
    let stopped = false;
    const go = () => {
      const s = (ws = new WebSocket(url));
      let opened = false;
      s.onopen = () => ((opened = true), h.open());
      s.onmessage = (e) => h.message(p.json ? JSON.parse(e.data) : e.data);
      s.onclose = (e) => {
        if (stopped) return;
        if (opened) h.close(`close ${e.code}`);
        if (p.reconnect) setTimeout(go, opened ? 0 : 250);
      };
    };
    go();
    return { send: (v) => ws.send(toText(v)), close: () => ((stopped = true), ws.close()) };
  },
  heartline,
  'heartline-sse': heartline,
  partysocket: (lib, url, p, h) => rwsLike(lib.WebSocket)(url, p, h),
  rws: (lib, url, p, h) => rwsLike(lib.default)(url, p, h),
  socketio(lib, url, p, h) {
    const u = new URL(url);
    const socket = lib.io(u.origin, { forceNew: true, ...p.options, query: Object.fromEntries(u.searchParams) });
    socket.on('connect', () => h.open());
    socket.on('m', (m) => h.message(m));
    socket.on('done', (d) => h.message({ done: d }));
    socket.on('tick', () => h.message('tick'));
    socket.on('disconnect', (reason) => h.close(reason));
    return { send: (v) => (v === 'go' ? socket.emit('go') : socket.emit('m', v)), close: () => socket.disconnect() };
  },
  'raw-sse'(_lib, url, p, h) {
    const es = new EventSource(url);
    es.onopen = () => h.open();
    es.onmessage = (e) => h.message(p.json ? JSON.parse(e.data) : e.data);
    es.onerror = () => h.close(`error (readyState ${es.readyState})`);
    return { send() {}, close: () => es.close() };
  },
  fes(lib, url, p, h) {
    const ctrl = new AbortController();
    class Retry extends Error {}
    lib
      .fetchEventSource(url, {
        signal: ctrl.signal,
        openWhenHidden: true,
        async onopen(res) {
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          h.open();
        },
        // fetch-event-source also dispatches comment-only blocks (e.g. ': hello') as messages with
        // data '', which EventSource drops; an app has to skip them, so this adapter does.
        onmessage: (ev) => ev.data !== '' && h.message(p.json ? JSON.parse(ev.data) : ev.data),
        onclose() {
          h.close('end of stream');
          throw new Retry(); // the README pattern: a stream the server ended is retried
        },
        onerror(err) {
          if (!(err instanceof Retry)) h.close(`error ${err?.message ?? err}`);
          // returning nothing: retry after the default (1 s) or the server's retry: interval
        },
      })
      .catch(() => {});
    return { send() {}, close: () => ctrl.abort() };
  },
};
