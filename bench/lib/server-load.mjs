// The load generator of bench/server.mjs, in its own process: many light clients on plain
// net.Sockets (a minimal WebSocket client: the upgrade, unmasked server frames parsed, client
// frames masked with a zero key; SSE over node:http), spread over 127.0.0.x source addresses.
// Driven over IPC:
//   { cmd: 'open', kind, port, n, addresses }  opens n more clients; answers { opened, failed, ms }
//   { cmd: 'expect', total }                   counts fan-out events from 0; answers at once
//   { cmd: 'wait' }                            answers { at } (epoch ms) once `total` arrived ({ at: null } after `timeout`)
//   { cmd: 'acks', ms, window }                every client sends `msg N` pipelined (window in flight): answers { acked }
//   { cmd: 'close' }                           ends every client
// KIND: heartline (hello → ready), raw-ws, socketio (engine.io open → 40), heartline-sse, raw-sse.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';

const now = () => performance.timeOrigin + performance.now();
const MARK = 'FANOUT';
const clients = [];
let received = 0;
let want = Infinity;
let onDone = null;
let waiting = null;

function countEvent() {
  if (++received === want && onDone) onDone();
}

/** A client frame: FIN + opcode 1 (text), masked with the zero key. */
function frame(text) {
  const body = Buffer.from(text);
  const n = body.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n, 0, 0, 0, 0]) : Buffer.from([0x81, 0xfe, n >> 8, n & 255, 0, 0, 0, 0]);
  return Buffer.concat([head, body]);
}

/** Calls `onText` for every complete text frame in the stream of `socket` after the 101. */
function frames(socket, onText) {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 127;
      let at = 2;
      if (len === 126) (len = buf.length >= 4 ? buf.readUInt16BE(2) : Infinity), (at = 4);
      else if (len === 127) (len = buf.length >= 10 ? Number(buf.readBigUInt64BE(2)) : Infinity), (at = 10);
      if (buf.length < at + len) return;
      const op = buf[0] & 15;
      if (op === 1) onText(buf.toString('utf8', at, at + len));
      buf = buf.subarray(at + len);
    }
  });
}

/** One WebSocket client; resolves once it is usable (the protocol's handshake done). */
function openWs(kind, port, localAddress) {
  return new Promise((resolve, reject) => {
    const path = kind === 'socketio' ? '/socket.io/?EIO=4&transport=websocket' : kind === 'heartline' ? '/live?heartline=1' : '/';
    const s = connect({ port, host: '127.0.0.1', localAddress });
    const fail = (e) => (s.destroy(), reject(e));
    const timer = setTimeout(() => fail(new Error('handshake timeout')), 20000);
    s.on('error', fail);
    s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let head = '';
    const client = { s, acked: 0, sent: 0, onAck: null };
    const ready = () => (clearTimeout(timer), s.off('error', fail), s.on('error', () => {}), resolve(client));
    const onText = (t) => {
      if (t.includes(MARK)) return countEvent();
      if (t.startsWith('ack ')) return (client.acked = Number(t.slice(4))), client.onAck?.();
      if (kind === 'heartline') {
        if (t.startsWith('welcome ')) s.write(frame('hello {"v":1}'));
        else if (t.startsWith('ready ')) ready();
        else if (t.startsWith('ping ')) s.write(frame(`pong ${t.slice(5)}`));
      } else if (kind === 'socketio') {
        if (t[0] === '0') s.write(frame('40'));
        else if (t.startsWith('40')) ready();
        else if (t === '2') s.write(frame('3'));
      }
    };
    const onHead = (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onHead);
      if (!head.startsWith('HTTP/1.1 101')) return fail(new Error(head.slice(0, 40)));
      frames(s, onText);
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length) s.emit('data', rest);
      if (kind === 'raw-ws') ready();
    };
    s.on('data', onHead);
  });
}

/** One SSE client; resolves on the response's headers. */
function openSse(kind, port, localAddress) {
  return new Promise((resolve, reject) => {
    const path = kind === 'heartline-sse' ? '/live?heartline=1' : '/';
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`)), res.destroy();
      res.setEncoding('utf8');
      let tail = '';
      res.on('data', (text) => {
        const parts = (tail + text).split('\n\n');
        tail = parts.pop();
        for (const p of parts) if (p.includes(MARK)) countEvent();
      });
      res.on('error', () => {});
      resolve({ s: req.socket, res });
    });
    req.on('error', reject);
    req.setTimeout(20000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function open({ kind, port, n, addresses }) {
  const t0 = now();
  let opened = 0;
  let failed = 0;
  let next = 0;
  const one = kind.endsWith('sse') ? openSse : openWs;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const localAddress = addresses[(clients.length + i) % addresses.length];
      try {
        clients.push(await one(kind, port, localAddress));
        opened += 1;
      } catch {
        failed += 1;
        if (failed > 50 && failed > n / 100) return; // the server is full: stop trying
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return { opened, failed, total: clients.length, ms: now() - t0 };
}

/** Every client sends `msg N` with at most `window` unacknowledged, for `ms`. */
async function acks({ ms, window }) {
  const end = now() + ms;
  const base = clients.reduce((a, c) => a + c.acked, 0);
  const pump = (c) => {
    const batch = [];
    while (c.sent - c.acked < window && now() < end) batch.push(frame(`msg ${++c.sent}\nx`));
    if (batch.length) c.s.write(Buffer.concat(batch));
  };
  for (const c of clients) (c.onAck = () => pump(c)), pump(c);
  await new Promise((r) => setTimeout(r, ms + 300));
  for (const c of clients) c.onAck = null;
  return { acked: clients.reduce((a, c) => a + c.acked, 0) - base };
}

process.on('message', async (m) => {
  let answer;
  if (m.cmd === 'open') answer = await open(m);
  else if (m.cmd === 'expect') {
    received = 0;
    want = m.total;
    waiting = new Promise((resolve) => {
      const t = setTimeout(() => resolve({ at: null, got: received }), m.timeout ?? 60000);
      onDone = () => (clearTimeout(t), (onDone = null), resolve({ at: now(), got: received }));
    });
    answer = true;
  } else if (m.cmd === 'wait') answer = await waiting; else if (m.cmd === 'acks') answer = await acks(m);
  else if (m.cmd === 'close') {
    for (const c of clients.splice(0)) c.s.destroy();
    answer = true;
  }
  process.send({ id: m.id, answer });
});
process.send({ ready: true });
