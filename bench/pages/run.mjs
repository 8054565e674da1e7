// The benchmark page. It is opened by bench/run.mjs through the browser-level DevTools endpoint and
// never attached to (so the CDP Network domain stays off in it); it times itself with
// performance.now() and POSTs what it measured to the bench server at /result/<id>[:<phase>].
//
// Query: task=recv|send|live, c=<contestant>, preset=<preset name>, url=<where to connect>,
//        id=<result id>; recv/send: n=<messages>, size=<bytes>, sid=<SSE stream id>;
//        live: watch=detect|idle|none, settle=<ms>, window=<ms> (idle);
//        upload: size=<MiB>, echo, chunk, hwm (pages/upload.mjs).
import { ADAPTERS, CONTESTANTS } from './contestants.mjs';

const q = new URLSearchParams(location.search);
const id = q.get('id');
const task = q.get('task');
const name = q.get('c');
const c = CONTESTANTS[name];
const preset = c.presets[q.get('preset')];
const url = q.get('url');
const n = +q.get('n');
const size = +q.get('size');
const { setTimeout: later, counts } = globalThis.__bench;

const post = (phase, value) =>
  fetch(`/result/${encodeURIComponent(id + phase)}`, { method: 'POST', body: JSON.stringify(value), keepalive: true });

let readyPosted = false;
const fail = (e) => {
  const error = String(e?.stack ?? e?.message ?? e);
  post('', { error });
  if (!readyPosted) post(':ready', { error });
};
addEventListener('error', (e) => fail(e.error ?? e.message));
addEventListener('unhandledrejection', (e) => fail(e.reason));

// Yields to the event loop without setTimeout's 4 ms clamp.
const channel = new MessageChannel();
let resume;
channel.port1.onmessage = () => resume();
const yieldTask = () => new Promise((r) => ((resume = r), channel.port2.postMessage(0)));

const pad = (seq) => 'x'.repeat(size - 17 - String(seq).length);

// (`lib=` swaps in another file of bench/.build/lib for the same contestant: development only.)
const lib = c.lib ? await import(`/lib/${q.get('lib') || c.lib}`) : null;
const adapter = ADAPTERS[name];
// Every contestant starts from the same quiet page: loaded, painted, then 300 ms of nothing, so no
// page start-up work (layout, first paint, module compilation) falls into anyone's timed window.
if (document.readyState !== 'complete') await new Promise((r) => addEventListener('load', r, { once: true }));
await new Promise((r) => later(r, 300));

if (task === 'recv' || task === 'send') {
  let t0;
  let count = 0;
  let next = 0;
  let outOfOrder = 0;
  let finished = false;
  let handle;
  const finish = (extra) => {
    if (finished) return;
    finished = true;
    const ms = performance.now() - t0;
    handle.close();
    post('', { ms, count, outOfOrder, lost: n - count, rate: (count / ms) * 1000, ...extra });
  };
  handle = adapter(lib, url, preset, {
    open() {
      if (t0 !== undefined) return; // a reconnect mid-run: counted as loss if anything went missing
      t0 = performance.now();
      post(':t0', {}); // lets the driver read Chromium's CPU time at the start of the window
      if (task === 'send') return void sendAll();
      if (c.kind === 'sse') fetch(`/go/${encodeURIComponent(q.get('sid'))}`, { method: 'POST' });
      else handle.send('go');
    },
    message(m) {
      if (task === 'send') {
        if (m && m.done) ((count = m.done.count), (outOfOrder = m.done.outOfOrder), finish());
        return;
      }
      count++;
      if (m.seq !== next) outOfOrder++;
      next = m.seq + 1;
      if (count === n || m.seq === n - 1) finish();
    },
    close() {},
  });
  const sendAll = async () => {
    for (let i = 0; i < n; i++) {
      handle.send({ seq: i, pad: pad(i) });
      if (i % 1000 === 999) await yieldTask();
    }
  };
  later(() => finish({ timedOut: true }), +q.get('timeout') || 120000);
} else if (task === 'upload') {
  // One Blob uploaded, timed, heap sampled, round trips timed: pages/upload.mjs.
  const { runUpload } = await import('./upload.mjs');
  await runUpload({ name, preset, lib, q, post, later, every: globalThis.__bench.setInterval });
} else if (task === 'live') {
  // Reconnect, black-hole and idle scenarios: connect, settle, say ready; then, per `watch`,
  // report the first loss the library notices (detect) or the timer wake-ups in a window (idle).
  const watch = q.get('watch');
  const settle = +q.get('settle') || 0;
  let detected = false;
  adapter(lib, url, preset, {
    open() {
      if (readyPosted) return;
      readyPosted = true;
      later(() => {
        const at = Date.now();
        const c0 = counts.timeout + counts.interval;
        post(':ready', { at });
        if (watch === 'idle') {
          const t0 = performance.now();
          later(() => {
            const wakeups = counts.timeout + counts.interval - c0;
            post(':idle', { wakeups, windowMs: performance.now() - t0 });
          }, +q.get('window'));
        }
      }, settle);
    },
    message() {},
    close(info) {
      if (watch !== 'detect' || detected || !readyPosted) return;
      detected = true;
      post(':detected', { at: Date.now(), info });
    },
  });
}
