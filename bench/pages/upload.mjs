// The upload task of the benchmark page (task=upload), imported by run.mjs. One contestant uploads
// one Blob generated here; the page times it and times a small round trip every 200 ms while the
// upload runs, then POSTs what it measured. The JS heap is sampled by the driver every 50 ms
// (Runtime.getHeapUsage on a session that enables no domain: performance.memory stays frozen in
// Chromium 156 headless); the page calls gc() and POSTs `:base` when the baseline is to be taken.
//
// Query: c=<contestant>, size=<MiB>, url=<where to upload or connect>, echo=<ws URL of the bench's
// echo socket, for contestants that upload over HTTP>, chunk / hwm (heartline: chunkSize and
// highWaterMark in bytes; absent: heartline's defaults), verify=1 (heartline: the per-chunk check;
// development, e.g. --upload-query=verify=1), id, timeout.
//
// Round trips ("RTT while uploading"): raw WebSocket sends `ping N` on the upload socket and waits
// for the server's echo; heartline sends an application message with sendWithAck() (framed `msg N`,
// answered `ack N` by the server: the same path a heartbeat `ping` takes, behind the same buffered
// upload data) and also records its own `heartbeat` events; fetch and tus-js-client upload over
// HTTP, so their pings go over a separate WebSocket to the same server (what an app's realtime
// channel would see while a fetch upload runs).

const MiB = 1 << 20;
const PING_EVERY = 200;

/** A socket that echoes text frames: `ping()` resolves when this ping's echo is back. */
const echoer = (ws) => {
  const waiting = new Map();
  let n = 0;
  return {
    onText(text) {
      const f = waiting.get(text);
      if (f) waiting.delete(text), f();
    },
    ping: () =>
      new Promise((resolve) => {
        const k = `ping ${++n}`;
        waiting.set(k, resolve);
        ws.send(k);
      }),
  };
};

const openSocket = (url) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`WebSocket ${url} failed`));
  });

/** A separate echo socket for the HTTP uploaders' round trips. */
const sidePinger = async (echoUrl) => {
  const ws = await openSocket(echoUrl);
  const e = echoer(ws);
  ws.onmessage = (m) => typeof m.data === 'string' && e.onText(m.data);
  return { ping: e.ping, close: () => ws.close() };
};

/**
 * Each uploader: prepare(...) connects and resolves once it can upload, with
 * { upload(blob) -> Promise (resolves when the server confirmed every byte), ping() -> Promise, close(), extra() }.
 */
export const UPLOADERS = {
  /** The hand-written floor: BYOB reader into one reused 1 MiB buffer, gated on bufferedAmount. */
  async 'raw-ws-up'(_lib, { url }) {
    const ws = await openSocket(url);
    const e = echoer(ws);
    let done;
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return;
      if (m.data.startsWith('{')) done?.(JSON.parse(m.data).done);
      else e.onText(m.data);
    };
    ws.onclose = (c) => done?.({ error: `close ${c.code}` });
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    return {
      ping: e.ping,
      close: () => ws.close(),
      async upload(blob) {
        const confirmed = new Promise((r) => (done = r));
        const reader = blob.stream().getReader({ mode: 'byob' });
        let buf = new ArrayBuffer(MiB);
        for (;;) {
          let got = 0;
          let end = false;
          while (got < MiB) {
            const { value, done: d } = await reader.read(new Uint8Array(buf, got, MiB - got));
            if (value) (buf = value.buffer), (got += value.byteLength);
            if (d) {
              end = true;
              break;
            }
          }
          if (got) {
            while (ws.bufferedAmount >= 4 * MiB) await sleep(1);
            ws.send(new Uint8Array(buf, 0, got)); // copied synchronously: the buffer is ours again
          }
          if (end) break;
        }
        const r = await confirmed;
        if (r.error) throw new Error(r.error);
        if (r.bytes !== blob.size) throw new Error(`server got ${r.bytes} of ${blob.size} bytes`);
      },
    };
  },

  /** One fetch POST of the whole Blob (the browser streams it from blob storage). */
  async 'fetch-up'(_lib, { url, echo }) {
    const side = await sidePinger(echo);
    return {
      ping: side.ping,
      close: side.close,
      async upload(blob) {
        const res = await fetch(url, { method: 'POST', body: blob });
        const { bytes } = await res.json();
        if (bytes !== blob.size) throw new Error(`server got ${bytes} of ${blob.size} bytes`);
      },
    };
  },

  /** heartline: connect() to the fixture server's /hl/ route, then conn.upload(blob, options). */
  async 'heartline-up'(lib, { url, preset, chunk, hwm, verify }) {
    const heartbeats = [];
    const conn = lib.connect(url, preset.options);
    conn.on('heartbeat', ({ rtt }) => heartbeats.push({ rtt, at: performance.now() }));
    const closes = [];
    conn.on('close', (e) => closes.push(`${e.code} ${e.reason}`));
    await new Promise((resolve, reject) => {
      conn.on('open', (o) => (o.transport === 'websocket' ? resolve() : reject(new Error(`opened on ${o.transport}`))));
      conn.on('error', (e) => reject(e));
    });
    let n = 0;
    return {
      ping: () => conn.sendWithAck(`ping ${++n}`),
      close: () => conn.close(),
      // heartline's own heartbeat events inside the upload window (pings go out only after
      // heartbeat.interval without inbound traffic; every up.ack is inbound traffic).
      extra: (t0, t1) => ({ heartbeats: heartbeats.filter((h) => h.at >= t0 && h.at <= t1).map((h) => h.rtt), closes }),
      async upload(blob) {
        const o = {};
        if (chunk) o.chunkSize = chunk;
        if (hwm) o.highWaterMark = hwm;
        if (verify) o.verify = true;
        const r = await conn.upload(blob, o);
        if (r.size !== blob.size) throw new Error(`up.done says ${r.size} of ${blob.size} bytes`);
      },
    };
  },

  /** tus-js-client against the bench's minimal tus server (lib/upload-server.mjs). */
  async tus(lib, { url, echo, preset }) {
    const side = await sidePinger(echo);
    return {
      ping: side.ping,
      close: side.close,
      upload: (blob) =>
        new Promise((resolve, reject) => {
          const up = new lib.Upload(blob, { endpoint: url, ...preset.options, onSuccess: resolve, onError: reject });
          up.start();
        }),
    };
  },
};
// The same client against the lean server (the URL is the only difference: bench/run.mjs).
UPLOADERS['heartline-up-lean'] = UPLOADERS['heartline-up'];

/**
 * Runs the upload task. `env`: { name, preset, lib, q (URLSearchParams), post(phase, value), later, every }.
 */
export async function runUpload({ name, preset, lib, q, post, later, every }) {
  const size = +q.get('size') * MiB;
  const chunk = +q.get('chunk') || 0;
  const hwm = +q.get('hwm') || 0;
  const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};
  const sleep = (ms) => new Promise((r) => later(r, ms));

  // The file: a 1 MiB random block repeated (not compressible within a window under 1 MiB).
  const block = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  const blob = new Blob(Array.from({ length: size / MiB }, () => block), { type: 'application/octet-stream' });
  await blob.slice(size - 1).arrayBuffer(); // the Blob is registered and readable before the clock starts

  const handle = await UPLOADERS[name](lib, { url: q.get('url'), echo: q.get('echo'), preset, chunk, hwm, verify: q.get('verify') === '1' });
  // Round trips on the quiet connection first, for reference.
  const idle = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await handle.ping();
    idle.push(performance.now() - t);
    await sleep(20);
  }
  gc();
  await sleep(200);
  gc();
  post(':base', {}); // the driver takes the heap baseline now
  await sleep(300);

  const rtts = [];
  const outstanding = new Set();
  let uploading = true;
  const pinger = every(() => {
    if (!uploading) return;
    const t = performance.now();
    const p = handle.ping().then(() => (rtts.push(performance.now() - t), outstanding.delete(p)));
    outstanding.add(p);
  }, PING_EVERY);

  post(':t0', {});
  const t0 = performance.now();
  let error;
  try {
    await handle.upload(blob);
  } catch (e) {
    error = String(e?.stack ?? e?.message ?? e);
  }
  const ms = performance.now() - t0;
  uploading = false;
  clearInterval(pinger);
  post(':t1', {});
  // Pings sent during the upload count, even when their answer comes just after it.
  await Promise.race([Promise.all([...outstanding]), sleep(2000)]);
  const extra = handle.extra?.(t0, t0 + ms) ?? {};
  handle.close();
  const sorted = [...rtts].sort((a, b) => a - b);
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
  post('', {
    error,
    ms,
    bytes: size,
    mbps: size / ms / 1000,
    rtts,
    rttMedian: pct(0.5),
    rttP95: pct(0.95),
    rttMax: sorted.at(-1) ?? null,
    lostPings: outstanding.size,
    idleRtts: idle,
    chunk,
    hwm,
    ...extra,
    prof: globalThis.__hlprof, // set only by an instrumented library build (development)
  });
}
