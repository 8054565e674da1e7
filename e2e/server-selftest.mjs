// Self-test of the fixture server with the `ws` client, no browser: `node --test e2e/server-selftest.mjs`.
// Every wait is bounded; a failing route fails here before it can confuse a browser test.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startServer } from './server.mjs';

let server;
let wsBase;
let n = 0;
const key = () => `self-${++n}`;

before(async () => {
  server = await startServer({ port: 0 });
  wsBase = server.url.replace('http:', 'ws:');
});
after(() => server.stop());

/** Resolve with the first `event` emitted by `emitter` (args array), reject after `ms`. */
function next(emitter, event, ms = 3000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function open(path) {
  const ws = new WebSocket(wsBase + path);
  ws.on('error', () => {});
  await next(ws, 'open');
  return ws;
}

async function control(k, action, query = '') {
  const res = await fetch(`${server.url}control/${k}/${action}${query}`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

/** The HTTP status a refused upgrade answered with. */
async function refusedStatus(path) {
  const ws = new WebSocket(wsBase + path);
  ws.on('error', () => {});
  const [, res] = await next(ws, 'unexpected-response');
  res.resume();
  ws.terminate();
  return { status: res.statusCode, headers: res.headers };
}

describe('http', () => {
  test('redirects /, adds the strict CSP on request, refuses traversal and plain GET on /ws', async () => {
    const root = await fetch(server.url, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/pages/demo.html');
    const csp = await fetch(`${server.url}pages/harness.html?csp=1`);
    assert.equal(csp.status, 200);
    assert.match(csp.headers.get('content-security-policy'), /require-trusted-types-for 'script'/);
    const plain = await fetch(`${server.url}pages/harness.html`);
    assert.equal(plain.headers.get('content-security-policy'), null);
    assert.equal((await fetch(`${server.url}pages/%2e%2e/server.mjs`)).status, 404);
    assert.equal((await fetch(`${server.url}ws/echo`)).status, 426);
  });
});

describe('routes', () => {
  test('echo keeps text as text and binary as binary, and counts frames', async () => {
    const k = key();
    const ws = await open(`ws/echo?key=${k}`);
    ws.send('hello');
    const [text, textIsBinary] = await next(ws, 'message');
    assert.equal(text.toString(), 'hello');
    assert.equal(textIsBinary, false);
    ws.send(Buffer.from([1, 2, 3]));
    const [bin, binIsBinary] = await next(ws, 'message');
    assert.deepEqual([...bin], [1, 2, 3]);
    assert.equal(binIsBinary, true);
    const { body } = await control(k, 'stats');
    assert.deepEqual(body, {
      upgrades: 1, accepted: 1, refused: 0, open: 1, received: 2, messages: ['hello'],
      sessions: 0, delivered: [], duplicates: 0, gaps: 0, transports: { websocket: 0, sse: 0, longpoll: 0 },
    });
    ws.close();
  });

  test('echoMax swallows large frames but still echoes small ones', async () => {
    const k = key();
    const ws = await open(`ws/echo?key=${k}&echoMax=10`);
    ws.send('x'.repeat(1000));
    ws.send('ping');
    const [data] = await next(ws, 'message');
    assert.equal(data.toString(), 'ping');
    assert.equal((await control(k, 'stats')).body.received, 2);
    ws.close();
  });

  test('stream sends numbered JSON frames from `from`+1 to `count`', async () => {
    const ws = new WebSocket(`${wsBase}ws/stream?key=${key()}&count=5&from=2&interval=5`);
    const got = [];
    await new Promise((resolve) => ws.on('message', (d) => got.push(JSON.parse(d)) === 3 && resolve()));
    assert.deepEqual(got, [{ id: '3', n: 3 }, { id: '4', n: 4 }, { id: '5', n: 5 }]);
    ws.close();
  });

  test('close closes with the code and reason after N inbound frames', async () => {
    const ws = await open(`ws/close?key=${key()}&code=4000&reason=bye&after=2`);
    ws.send('a');
    ws.send('b');
    const [code, reason] = await next(ws, 'close');
    assert.equal(code, 4000);
    assert.equal(reason.toString(), 'bye');
  });

  test('destroy drops the TCP connection without a close frame', async () => {
    const ws = await open(`ws/destroy?key=${key()}&after=50`);
    const [code] = await next(ws, 'close');
    assert.equal(code, 1006);
  });

  test('refuse, flaky and retry-after answer the upgrade with HTTP statuses', async () => {
    assert.equal((await refusedStatus(`ws/refuse?key=${key()}&status=404`)).status, 404);
    const k = key();
    assert.equal((await refusedStatus(`ws/flaky?key=${k}&fail=2&status=502`)).status, 502);
    assert.equal((await refusedStatus(`ws/flaky?key=${k}&fail=2&status=502`)).status, 502);
    (await open(`ws/flaky?key=${k}&fail=2`)).close();
    assert.deepEqual((await control(k, 'stats')).body.refused, 2);
    const r = key();
    const first = await refusedStatus(`ws/retry-after?key=${r}&status=429&seconds=7`);
    assert.equal(first.status, 429);
    assert.equal(first.headers['retry-after'], '7');
    (await open(`ws/retry-after?key=${r}`)).close();
  });

  test('malformed sends non-JSON text, then invalid UTF-8 or a reserved opcode', async () => {
    const json = new WebSocket(`${wsBase}ws/malformed?key=${key()}&kind=json`);
    const [first] = await next(json, 'message');
    assert.throws(() => JSON.parse(first.toString()));
    json.send('still echoing');
    assert.equal((await next(json, 'message'))[0].toString(), 'still echoing');
    json.close();
    // `ws` fails the connection with a typed error (and sends 1007/1002 to the server).
    for (const [kind, code] of [['utf8', 'WS_ERR_INVALID_UTF8'], ['opcode', 'WS_ERR_INVALID_OPCODE']]) {
      const ws = new WebSocket(`${wsBase}ws/malformed?key=${key()}&kind=${kind}`);
      const [err] = await next(ws, 'error');
      assert.equal(err.code, code, kind);
      await next(ws, 'close');
    }
  });

  test('oversized sends one frame of exactly `bytes` bytes with a checkable pattern', async () => {
    const ws = new WebSocket(`${wsBase}ws/oversized?key=${key()}&bytes=3000001`);
    const [data] = await next(ws, 'message', 5000);
    assert.equal(data.length, 3000001);
    assert.equal(data.toString('latin1', 0, 40), 'abcdefghijklmnopqrstuvwxyz0123456789abcd');
    ws.close();
  });

  test('slow stops reading until the resume control action', async () => {
    const k = key();
    const ws = await open(`ws/slow?key=${k}`);
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < 64; i++) ws.send(chunk);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(ws.bufferedAmount > 0, 'client buffer should back up while the server does not read');
    await control(k, 'resume');
    const res = await fetch(`${server.url}control/${k}/wait?received=64&timeout=10000`);
    assert.equal(res.status, 200);
    ws.close();
  });
});

describe('control', () => {
  test('refuse N upgrades, accept, send, drop, and wait for counters', async () => {
    const k = key();
    await control(k, 'refuse', '?status=503&count=1');
    assert.equal((await refusedStatus(`ws/echo?key=${k}`)).status, 503);
    const ws = await open(`ws/echo?key=${k}`);
    const pushed = next(ws, 'message');
    await control(k, 'send', '?data=pushed');
    assert.equal((await pushed)[0].toString(), 'pushed');
    const waiting = fetch(`${server.url}control/${k}/wait?received=2&timeout=3000`);
    ws.send('one');
    ws.send('two');
    const waited = await waiting;
    assert.equal(waited.status, 200);
    assert.deepEqual((await waited.json()).messages, ['one', 'two']);
    const timedOut = await fetch(`${server.url}control/${k}/wait?received=99&timeout=50`);
    assert.equal(timedOut.status, 408);
    await control(k, 'drop', '?code=4001&reason=go');
    const [code, reason] = await next(ws, 'close');
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'go');
  });

  test('blackhole keeps the connection open but silent', async () => {
    const k = key();
    const ws = await open(`ws/echo?key=${k}`);
    await control(k, 'blackhole');
    ws.send('anyone?');
    let heard = false;
    ws.on('message', () => (heard = true));
    // Proving silence needs a bounded wait; 300 ms is far above loopback echo latency (< 5 ms).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(heard, false);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal((await control(k, 'stats')).body.open, 1);
    ws.terminate();
  });

  test('restart drops everything, refuses during `down`, then listens on the same port', async () => {
    const k = key();
    const ws = await open(`ws/echo?key=${k}`);
    const closed = next(ws, 'close');
    const { body } = await control(k, 'restart', '?down=400');
    assert.deepEqual(body, { ok: true, down: 400 });
    assert.equal((await closed)[0], 1006);
    await assert.rejects(fetch(`${server.url}control/${k}/stats`));
    const again = await new Promise((resolve, reject) => {
      const deadline = Date.now() + 5000;
      const attempt = () => {
        const c = new WebSocket(`${wsBase}ws/echo?key=${k}`);
        c.once('open', () => resolve(c));
        c.once('error', () => (Date.now() > deadline ? reject(new Error('no relisten')) : setTimeout(attempt, 50)));
      };
      attempt();
    });
    again.close();
    assert.equal((await control(k, 'stats')).body.accepted, 2);
  });
});

test('stop() ends black-holed sockets and pending waits promptly', async () => {
  const own = await startServer({ port: 0 });
  const base = own.url.replace('http:', 'ws:');
  const ws = new WebSocket(`${base}ws/blackhole?key=s`);
  ws.on('error', () => {});
  await next(ws, 'open');
  const pending = fetch(`${own.url}control/s/wait?received=5&timeout=20000`).catch((err) => err);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await own.stop();
  const [code] = await next(ws, 'close', 2000);
  assert.equal(code, 1006);
  assert.ok((await pending) instanceof Error);
  assert.ok(Date.now() - started < 1000, 'stop should not wait for anything');
});

test('plain routes select the first offered subprotocol, like a plain ws server; protocol=none|NAME', async () => {
  const offered = ['heartline.1', 'other'];
  const naive = new WebSocket(`${wsBase}ws/echo?key=${key()}`, offered);
  await next(naive, 'open');
  assert.equal(naive.protocol, 'heartline.1');
  naive.close();
  const named = new WebSocket(`${wsBase}ws/echo?key=${key()}&protocol=other`, offered);
  await next(named, 'open');
  assert.equal(named.protocol, 'other');
  named.close();
  // The `ws` client, like Chromium, fails a handshake that selects none of the offered protocols.
  const none = new WebSocket(`${wsBase}ws/echo?key=${key()}&protocol=none`, offered);
  const [err] = await next(none, 'error');
  assert.match(err.message, /no subprotocol/);
});
