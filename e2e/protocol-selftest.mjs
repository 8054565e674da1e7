// Self-test of the fixture's `/hl/` route (heartline/server from dist/server.mjs, one instance per
// key, faults around it; e2e/SERVER.md) with the `ws` client and fetch, no browser:
// `node --test e2e/protocol-selftest.mjs`. The protocol itself is test/server's; this checks the
// per-key parameters, the control actions on every transport and the counters. Every wait is bounded.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startServer } from './server.mjs';

let server;
let n = 0;
const key = () => `proto-${++n}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => (server = await startServer({ port: 0 })));
after(() => server.stop());

const hl = (query) => `${server.url}hl/s?${query}`;
const control = async (k, action, query = '') =>
  (await fetch(`${server.url}control/${k}/${action}${query}`, { method: 'POST', signal: AbortSignal.timeout(5000) })).json();

/** A WebSocket whose frames are queued as strings (binary as Buffer), read with `next()`. */
async function socket(query) {
  const ws = new WebSocket(hl(query).replace('http:', 'ws:'));
  const frames = [];
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => frames.push(isBinary ? Buffer.from(data) : data.toString()));
  ws.next = async (ms = 3000) => {
    for (const end = Date.now() + ms; !frames.length; await sleep(5)) if (Date.now() > end) throw new Error(`no frame in ${ms} ms`);
    return frames.shift();
  };
  /** The next frame that is not a server heartbeat ping. */
  ws.nextData = async (ms) => {
    for (;;) {
      const f = await ws.next(ms);
      if (typeof f !== 'string' || !f.startsWith('ping ')) return f;
    }
  };
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: `${reason}` })));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_, res) => reject(Object.assign(new Error('refused'), { status: res.statusCode })));
  });
  return ws;
}

/** welcome, hello, ready (PROTOCOL.md section 3). */
async function handshake(query, hello = {}) {
  const ws = await socket(`heartline=1&${query}`);
  const welcome = JSON.parse((await ws.nextData()).replace(/^welcome /, ''));
  ws.send(`hello ${JSON.stringify({ v: 1, ...hello })}`);
  const ready = await ws.nextData();
  assert.match(ready, /^ready /);
  return { ws, welcome, ready: JSON.parse(ready.slice(6)) };
}

/** An HTTP event stream read incrementally: `until(re)` waits for the text so far to match. */
async function eventStream(url, headers = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const reader = { res, text: '', abort: () => abort.abort() };
  const decoder = new TextDecoder();
  const write = (chunk) => void (reader.text += decoder.decode(chunk, { stream: true }));
  reader.done = res.body.pipeTo(new WritableStream({ write })).catch(() => {});
  reader.until = async (re, ms = 3000) => {
    for (const end = Date.now() + ms; !re.test(reader.text); await sleep(10)) {
      if (Date.now() > end) throw new Error(`no ${re} within ${ms} ms in ${JSON.stringify(reader.text)}`);
    }
    return reader.text;
  };
  return reader;
}

const sessionOf = (text) => /welcome \{[^\n]*"session":"([^"]+)"/.exec(text)[1];

describe('the module behind /hl/', () => {
  test('WebSocket: echo with opaque ids, acks, duplicates and gaps counted, binary, transports', async () => {
    const k = key();
    const { ws, welcome, ready } = await handshake(`key=${k}&hb=5000`);
    assert.equal(ws.protocol, '');
    assert.equal(welcome.heartbeat, 5000);
    assert.deepEqual({ ...ready, session: 0 }, { session: 0, ack: 0, resumed: false, heartbeat: 5000 });
    ws.send('msg 1\nhé ✓');
    assert.match(await ws.nextData(), /^msg \S+-1 -\nhé ✓$/);
    assert.equal(await ws.nextData(), 'ack 1');
    ws.send('msg 1\nhé ✓'); // a resend: dropped, acknowledged again
    assert.equal(await ws.nextData(), 'ack 1');
    ws.send('msg 3\nskipped'); // a gap: dropped
    assert.equal(await ws.nextData(), 'ack 1');
    ws.send('bin 2');
    ws.send(Buffer.from([0, 255, 10]));
    assert.match(await ws.nextData(), /^bin \S+-2 -$/);
    assert.deepEqual(await ws.nextData(), Buffer.from([0, 255, 10]));
    assert.equal(await ws.nextData(), 'ack 2');
    const stats = await control(k, 'stats');
    assert.deepEqual(stats.delivered, ['hé ✓', { binary: 'AP8K' }]);
    assert.deepEqual([stats.duplicates, stats.gaps, stats.sessions, stats.transports], [1, 1, 1, { websocket: 1, sse: 0, longpoll: 0 }]);
    assert.ok(stats.messages.includes('msg 1\nhé ✓') && stats.received >= 6, JSON.stringify(stats));
    ws.close();
  });

  test('echo=0, gen=N&every=0 after the welcome, publish with an event name, SSE heartbeat hb', async () => {
    const k = key();
    const es = await eventStream(hl(`key=${k}&heartline=1&echo=0&gen=3&every=0&hb=100`));
    assert.equal(es.res.headers.get('heartline'), '1');
    await es.until(/"n":3/);
    const { id } = await control(k, 'publish', '?data=hi&event=note');
    await es.until(/event: note\ndata: hi/);
    assert.match(es.text, new RegExp(`id: ${id}\nevent: note`));
    await es.until(/\n:\n/); // a heartbeat comment within a few hb
    assert.equal(JSON.parse(/welcome (.*)/.exec(es.text)[1]).heartbeat, 100);
    es.abort();
  });

  test('auth=TOKEN: Bearer over HTTP, hello.auth over WebSocket', async () => {
    const k = key();
    assert.equal((await fetch(hl(`key=${k}&heartline=1&poll=1&open=1&auth=t`))).status, 401);
    const ok = await fetch(hl(`key=${k}&heartline=1&poll=1&open=1&auth=t`), { headers: { Authorization: 'Bearer t' } });
    assert.equal(ok.status, 200);
    await ok.text();
    const ws = await socket(`key=${k}&heartline=1&auth=t`);
    await ws.nextData();
    ws.send('hello {"v":1,"auth":"wrong"}');
    assert.equal((await ws.closed).code, 4401);
    await handshake(`key=${k}&auth=t`, { auth: 't' }).then(({ ws: good }) => good.close());
  });

  test('ws=403 refuses every upgrade, wsFirst=2 the first two; refused counted; no heartline=1: plain echo', async () => {
    const k = key();
    await assert.rejects(socket(`key=${k}&heartline=1&ws=403`), (e) => e.status === 403);
    const j = key();
    for (let i = 0; i < 2; i++) await assert.rejects(socket(`key=${j}&heartline=1&wsFirst=2`), (e) => e.status === 403);
    (await handshake(`key=${j}&wsFirst=2`)).ws.close();
    assert.deepEqual([(await control(k, 'stats')).refused, (await control(j, 'stats')).refused], [1, 2]);
    const plain = await socket(`key=${key()}`);
    plain.send('plain');
    assert.equal(await plain.next(), 'plain');
    plain.close();
  });

  test('buffer=1: SSE headers, then nothing (a buffering proxy)', async () => {
    const es = await eventStream(hl(`key=${key()}&heartline=1&buffer=1&hb=50`));
    assert.equal(es.res.headers.get('heartline'), '1');
    await sleep(300);
    assert.equal(es.text, '');
    es.abort();
  });
});

describe('control actions around the module', () => {
  test('drop: a close frame on every transport', async () => {
    const k = key();
    const { ws } = await handshake(`key=${k}`);
    const es = await eventStream(hl(`key=${k}&heartline=1`));
    await es.until(/welcome/);
    const first = await fetch(hl(`key=${k}&heartline=1&poll=1&open=1&hold=5000`));
    const session = sessionOf(await first.text());
    const held = fetch(hl(`key=${k}&heartline=1&poll=1&session=${session}`)).then((r) => r.text());
    await sleep(100);
    await control(k, 'drop', '?code=1012&reason=going%20away');
    assert.deepEqual(await ws.closed, { code: 1012, reason: 'going away' });
    await es.until(/data: close 1012 going%20away\n\n/);
    await es.done;
    assert.match(await held, /data: close 1012 going%20away/);
  });

  test('destroy: the WebSocket without a close frame; a long-poll connection for good', async () => {
    const k = key();
    const { ws } = await handshake(`key=${k}`);
    const first = await fetch(hl(`key=${k}&heartline=1&poll=1&open=1&hold=5000`));
    const session = sessionOf(await first.text());
    const held = fetch(hl(`key=${k}&heartline=1&poll=1&session=${session}`));
    await sleep(100);
    await control(k, 'destroy');
    assert.equal((await ws.closed).code, 1006);
    await assert.rejects(held);
    await assert.rejects(fetch(hl(`key=${k}&heartline=1&poll=1&session=${session}`))); // the next poll is cut too
  });

  test('blackhole: silence with the connection kept open; open counts it', async () => {
    const k = key();
    const { ws } = await handshake(`key=${k}&hb=60000`);
    await control(k, 'blackhole');
    ws.send('ping 7');
    await assert.rejects(ws.nextData(500));
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal((await control(k, 'stats')).open, 1);
    ws.terminate();
  });

  test('refuse: SSE and first polls too, with Retry-After; accept', async () => {
    const k = key();
    await control(k, 'refuse', '?status=503&count=2&retryAfter=3');
    const sse = await fetch(hl(`key=${k}&heartline=1`), { headers: { Accept: 'text/event-stream' } });
    assert.deepEqual([sse.status, sse.headers.get('retry-after')], [503, '3']);
    assert.equal((await fetch(hl(`key=${k}&heartline=1&poll=1&open=1`))).status, 503);
    const ok = await fetch(hl(`key=${k}&heartline=1&poll=1&open=1`));
    assert.equal(ok.status, 200);
    await ok.text();
  });

  test('restart keeps the log and the sessions; restart?fresh=1 loses them (a new epoch)', async () => {
    const k = key();
    const { ws, ready } = await handshake(`key=${k}&echo=0`);
    ws.send('msg 1\nbefore');
    assert.equal(await ws.nextData(), 'ack 1');
    const { id } = await control(k, 'publish', '?data=one');
    await control(k, 'restart', '?down=50');
    assert.equal((await ws.closed).code, 1006);
    for (const end = Date.now() + 3000; ; await sleep(20)) {
      const up = await fetch(`${server.url}control/${k}/stats`).then((r) => r.ok, () => false);
      if (up) break;
      assert.ok(Date.now() < end, 'the server came back');
    }
    const again = await handshake(`key=${k}&echo=0`, { session: ready.session, lastEventId: id });
    assert.deepEqual([again.ready.session, again.ready.ack, again.ready.resumed], [ready.session, 1, true]);
    again.ws.close();
    await control(k, 'restart', '?down=50&fresh=1');
    await sleep(300);
    const fresh = await handshake(`key=${k}&echo=0`, { session: ready.session, lastEventId: id });
    assert.notEqual(fresh.ready.session, ready.session);
    assert.equal(fresh.ready.resumed, false);
    fresh.ws.close();
  });

  test('forget: close 4409 and the session is unknown', async () => {
    const k = key();
    const { ws, ready } = await handshake(`key=${k}`);
    await control(k, 'forget');
    assert.equal((await ws.closed).code, 4409);
    const again = await handshake(`key=${k}`, { session: ready.session });
    assert.notEqual(again.ready.session, ready.session);
    again.ws.close();
  });

  test('stats.uploads: what the module holds, opens and chunks counted (POST and WebSocket)', async () => {
    const k = key();
    const bytes = Buffer.from('0123456789'.repeat(100));
    const { ws } = await handshake(`key=${k}&echo=0`);
    ws.send(`up.open u1\n${JSON.stringify({ name: 'a.txt', size: bytes.length })}`);
    assert.equal(await ws.nextData(), 'up.offset u1 0');
    ws.send(Buffer.concat([Buffer.from('up.chunk u1 0 -\n'), bytes.subarray(0, 600)]));
    assert.equal(await ws.nextData(), 'up.ack u1 600');
    ws.terminate();
    const stats = await control(k, 'stats');
    assert.deepEqual(stats.uploads.map(({ id, name, received, done, opens, chunks }) => ({ id, name, received, done, opens, chunks })), [
      { id: 'u1', name: 'a.txt', received: 600, done: false, opens: 1, chunks: 1 },
    ]);
    const first = await fetch(hl(`key=${k}&heartline=1&poll=1&open=1`));
    const session = sessionOf(await first.text());
    const post = (body) => fetch(hl(`key=${k}&heartline=1&session=${session}`), { method: 'POST', body }).then((r) => r.text());
    assert.equal(await post(`up.open u2\n${JSON.stringify({ name: 'b.txt', size: bytes.length })}`), 'up.offset u2 0');
    assert.match(await post(Buffer.concat([Buffer.from('up.chunk u2 0 -\n'), bytes])), /^up\.done u2 /);
    const u2 = (await control(k, 'stats')).uploads.find((u) => u.id === 'u2');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    assert.deepEqual({ ...u2 }, { ...u2, name: 'b.txt', size: bytes.length, received: bytes.length, sha256, done: true, opens: 1 });
  });
});
