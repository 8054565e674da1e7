// heartline's own JavaScript cost per message, isolated from the browser: a fake WebSocket is
// injected (options.WebSocket) and fed N text frames synchronously; the same frames go through a
// bare onmessage handler doing the app's JSON.parse. The difference is what heartline adds per
// received message (src/transports/websocket.ts onmessage -> src/connect.ts received() -> emitter).
// Send: conn.send(object) with json: true vs JSON.stringify + ws.send.
//
// Usage: node bench/overhead.mjs   (pure Node; V8, like Chromium; prints ns per message, medians of 7)
import { performance } from 'node:perf_hooks';
import { connect } from '../dist/heartline.mjs';

const N = 200000;
const frames = Array.from({ length: 1000 }, (_, i) => `{"seq":${i},"pad":"${'x'.repeat(100 - 17 - String(i).length)}"}`);

class FakeWS {
  static last;
  readyState = 0;
  binaryType = 'blob';
  sent = 0;
  constructor(url) {
    this.url = url;
    FakeWS.last = this;
  }
  send() {
    this.sent++;
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  feed(n) {
    for (let i = 0; i < n; i++) this.onmessage({ data: frames[i % 1000] });
  }
}

const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const time = (f) => {
  const t = performance.now();
  f();
  return ((performance.now() - t) * 1e6) / N; // ns per message
};

async function heartlineConn() {
  const conn = connect('ws://bench.invalid/', { json: true, WebSocket: FakeWS, heartbeat: false, reconnect: false });
  await new Promise((r) => setTimeout(r, 0)); // connect() opens after one await
  FakeWS.last.open();
  return { conn, ws: FakeWS.last };
}

let sink = 0;
const rawRecv = () => {
  const ws = new FakeWS('x');
  ws.onmessage = (e) => (sink += JSON.parse(e.data).seq);
  ws.readyState = 1;
  return () => ws.feed(N);
};
const hlRecv = async () => {
  const { conn, ws } = await heartlineConn();
  conn.on('message', (m) => (sink += m.seq));
  return () => ws.feed(N);
};
const rawSend = () => {
  const ws = new FakeWS('x');
  ws.readyState = 1;
  const obj = { seq: 1, pad: 'x'.repeat(80) };
  return () => {
    for (let i = 0; i < N; i++) ws.send(JSON.stringify(obj));
  };
};
const hlSend = async () => {
  const { conn } = await heartlineConn();
  const obj = { seq: 1, pad: 'x'.repeat(80) };
  return () => {
    for (let i = 0; i < N; i++) conn.send(obj);
  };
};

const results = {};
for (const [name, make] of [
  ['receive: bare onmessage + JSON.parse', rawRecv],
  ['receive: heartline json: true', hlRecv],
  ['send: JSON.stringify + ws.send', rawSend],
  ['send: heartline conn.send(object)', hlSend],
]) {
  const runs = [];
  for (let i = 0; i < 7; i++) runs.push(time(await make()));
  results[name] = median(runs);
}
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(40)} ${v.toFixed(0).padStart(6)} ns/message`);
const r = results['receive: heartline json: true'] - results['receive: bare onmessage + JSON.parse'];
const s = results['send: heartline conn.send(object)'] - results['send: JSON.stringify + ws.send'];
console.log(`heartline adds ≈ ${r.toFixed(0)} ns per received and ≈ ${s.toFixed(0)} ns per sent message (sink ${sink > 0})`);
