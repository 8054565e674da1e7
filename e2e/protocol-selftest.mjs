// Self-test of the heartline protocol's reference server (e2e/server/protocol*.mjs) with the `ws`
// client and fetch, no browser: `node --test e2e/protocol-selftest.mjs`. Every wait is bounded.
import assert from 'node:assert/strict';
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
async function socket(query, protocols) {
  const ws = new WebSocket(hl(query).replace('http:', 'ws:'), protocols);
  const frames = [];
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => frames.push(isBinary ? Buffer.from(data) : data.toString()));
  ws.next = async (ms = 3000) => {
    for (const end = Date.now() + ms; !frames.length; await sleep(5)) if (Date.now() > end) throw new Error(`no frame in ${ms} ms`);
    return frames.shift();
  };
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: `${reason}` })));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_, res) => reject(Object.assign(new Error('refused'), { status: res.statusCode })));
  });
  return ws;
}

/** welcome, hello, ready: the WebSocket handshake of section 3. */
async function handshake(query, hello = {}) {
  const ws = await socket(`heartline=1&${query}`);
  assert.equal(await ws.next(), 'welcome {"v":1}');
  ws.send(`hello ${JSON.stringify({ v: 1, ...hello })}`);
  const ready = await ws.next();
  assert.match(ready, /^ready /);
  return { ws, ready: JSON.parse(ready.slice(6)) };
}

/** An HTTP event stream read incrementally: `until(re)` waits for the text so far to match. */
async function eventStream(url, headers = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const reader = { res, text: '', ended: false, abort: () => abort.abort() };
  const decoder = new TextDecoder();
  const write = (chunk) => void (reader.text += decoder.decode(chunk, { stream: true }));
  reader.done = res.body.pipeTo(new WritableStream({ write })).catch(() => {}).then(() => (reader.ended = true));
  reader.until = async (re, ms = 3000) => {
    for (const end = Date.now() + ms; !re.test(reader.text); await sleep(10)) {
      if (Date.now() > end) throw new Error(`no ${re} within ${ms} ms in ${JSON.stringify(reader.text)}`);
    }
    return reader.text;
  };
  return reader;
}

const welcomeOf = (text) => JSON.parse(/^event: heartline\ndata: welcome (.*)\n\n/.exec(text)[1]);

/** A POST of length-prefixed frames (section 5). */
function post(query, frames) {
  const bytes = frames.map(([header, payload = '']) => [header, Buffer.from(payload)]);
  const body = Buffer.concat(bytes.flatMap(([header, data]) => [Buffer.from(`${header} ${data.length}\n`), data]));
  return fetch(hl(`heartline=1&${query}`), { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
}

describe('websocket', () => {
  test('welcome first with no subprotocol, hello → ready, acks, de-duplication, gaps, ping and echo with ids', async () => {
    const k = key();
    const { ws, ready } = await handshake(`key=${k}`);
    assert.equal(ws.protocol, '');
    assert.match(ready.session, /^[\w-]{16}$/);
    assert.deepEqual({ ...ready, session: 0 }, { session: 0, ack: 0, resumed: false });
    ws.send('msg 1\n{"a":1}');
    ws.send('msg 2\nhé ✓');
    ws.send('msg 1\n{"a":1}'); // a resend: dropped
    ws.send('msg 9\nlost'); // a gap: ignored
    ws.send('ping 42');
    const got = [];
    for (let i = 0; i < 7; i++) got.push(await ws.next());
    assert.deepEqual(got.filter((f) => f.startsWith('ack')), ['ack 1', 'ack 2', 'ack 2', 'ack 2']);
    assert.deepEqual(got.filter((f) => f.startsWith('msg')), ['msg 1 -\n{"a":1}', 'msg 2 -\nhé ✓']);
    assert.ok(got.includes('pong 42'));
    ws.send('bin 3');
    ws.send(Buffer.from([0, 255, 10]));
    const binFrames = [await ws.next(), await ws.next(), await ws.next()];
    assert.deepEqual(binFrames.slice(0, 2), ['bin 3 -', Buffer.from([0, 255, 10])]);
    assert.equal(binFrames[2], 'ack 3');
    const { delivered, duplicates, gaps, sessions, transports } = await control(k, 'stats');
    assert.deepEqual(delivered, ['{"a":1}', 'hé ✓', { binary: 'AP8K' }]);
    assert.deepEqual([duplicates, gaps, sessions, transports], [1, 1, 1, { websocket: 1, sse: 0, longpoll: 0 }]);
    ws.close();
  });

  test('resume: the same session keeps its ack, events after lastEventId are replayed; unknown ids start over', async () => {
    const k = key();
    const first = await handshake(`key=${k}&gen=5&every=0`);
    const events = [];
    for (let i = 0; i < 5; i++) events.push(await first.ws.next());
    assert.deepEqual(events, [1, 2, 3, 4, 5].map((i) => `msg ${i} -\n{"n":${i}}`));
    first.ws.send('msg 1\nmine');
    assert.deepEqual([await first.ws.next(), await first.ws.next()], ['msg 6 -\nmine', 'ack 1']);
    first.ws.close();
    await first.ws.closed;
    const again = await handshake(`key=${k}&gen=5&every=0`, { session: first.ready.session, lastEventId: '3' });
    assert.deepEqual(again.ready, { session: first.ready.session, ack: 1, resumed: true });
    assert.deepEqual([await again.ws.next(), await again.ws.next(), await again.ws.next()], ['msg 4 -\n{"n":4}', 'msg 5 -\n{"n":5}', 'msg 6 -\nmine']);
    again.ws.send('msg 1\nmine'); // resent after the reconnect: not delivered twice
    assert.equal(await again.ws.next(), 'ack 1');
    assert.deepEqual((await control(k, 'stats')).delivered, ['mine']);
    again.ws.close();
    const stranger = await handshake(`key=${k}`, { session: 'nope', lastEventId: '999' });
    assert.notEqual(stranger.ready.session, 'nope');
    assert.deepEqual({ ...stranger.ready, session: 0 }, { session: 0, ack: 0, resumed: false });
    stranger.ws.send('bye');
    await sleep(50);
    assert.equal((await control(k, 'stats')).sessions, 1);
    stranger.ws.close();
  });

  test('plain echo without heartline=1; ws=STATUS refuses the upgrade; auth and retry', async () => {
    const plain = await socket(`key=${key()}`);
    plain.send('just text');
    assert.equal(await plain.next(), 'just text');
    plain.close();
    await assert.rejects(socket(`key=${key()}&heartline=1&ws=403`), (err) => err.status === 403);
    const denied = await socket(`key=${key()}&heartline=1&auth=sesame`);
    await denied.next();
    denied.send('hello {"v":1,"auth":"wrong"}');
    assert.deepEqual(await denied.closed, { code: 4401, reason: 'unauthorized' });
    const { ws, ready } = await handshake(`key=${key()}&auth=sesame&retry=1500`, { auth: 'sesame' });
    assert.equal(ready.ack, 0);
    assert.equal(await ws.next(), 'retry 1500');
    ws.close();
  });
});

describe('sse', () => {
  test('headers, welcome first, replay after Last-Event-ID, live events, heartbeat comments, retry frame', async () => {
    const k = key();
    await control(k, 'publish', '?data=one');
    await control(k, 'publish', '?data=two%0Alines&event=note');
    const sse = await eventStream(hl(`key=${k}&heartline=1&hb=100&retry=700`), { 'Last-Event-ID': '1' });
    const h = sse.res.headers;
    assert.deepEqual([sse.res.status, h.get('heartline'), h.get('content-type'), h.get('cache-control')], [200, '1', 'text/event-stream', 'no-store']);
    await sse.until(/id: 2\n/);
    const w = welcomeOf(sse.text);
    assert.deepEqual({ ...w, session: 0 }, { v: 1, session: 0, ack: 0, resumed: true, heartbeat: 100 });
    assert.ok(sse.text.includes('event: heartline\ndata: retry 700\n\nid: 2\nevent: note\ndata: two\ndata: lines\n\n'));
    await control(k, 'publish', '?data=three');
    await sse.until(/id: 3\ndata: three\n\n/);
    await sse.until(/\n:\n/);
    assert.equal((await control(k, 'stats')).transports.sse, 1);
    sse.abort();
  });

  test('buffer=1 sends the header and nothing else; a plain SSE request gets no header and no welcome; auth', async () => {
    const k = key();
    const buffered = await eventStream(hl(`key=${k}&heartline=1&buffer=1&hb=20`));
    assert.equal(buffered.res.headers.get('heartline'), '1');
    await sleep(200);
    assert.equal(buffered.text, '');
    buffered.abort();
    await control(k, 'publish', '?data=x');
    const plain = await eventStream(hl(`key=${k}&hb=5000`), { 'Last-Event-ID': '0' });
    assert.equal(plain.res.headers.get('heartline'), null);
    assert.equal(await plain.until(/data: x\n\n/), 'id: 1\ndata: x\n\n');
    plain.abort();
    assert.equal((await fetch(hl(`key=${k}&heartline=1&auth=t`), { headers: { Accept: 'text/event-stream' } })).status, 401);
    const authed = await eventStream(hl(`key=${k}&heartline=1&auth=t`), { Authorization: 'Bearer t' });
    assert.equal(authed.res.status, 200);
    authed.abort();
  });

  test('a newer connection of the session ends the old stream; drop sends a close frame', async () => {
    const k = key();
    const old = await eventStream(hl(`key=${k}&heartline=1`));
    const { session } = welcomeOf(await old.until(/welcome/));
    const { ws, ready } = await handshake(`key=${k}`, { session });
    assert.equal(ready.session, session);
    await old.done;
    assert.ok(old.ended);
    ws.close();
    const sse = await eventStream(hl(`key=${k}&heartline=1&session=${session}`));
    assert.equal(welcomeOf(await sse.until(/welcome/)).session, session);
    await control(k, 'drop', '?code=1012&reason=restarting now');
    await sse.done;
    assert.match(sse.text, /event: heartline\ndata: close 1012 restarting%20now\n\n$/);
  });
});

test('blackhole silences an SSE stream but keeps it open; destroy cuts it', async () => {
  const k = key();
  const sse = await eventStream(hl(`key=${k}&heartline=1&hb=30`));
  await sse.until(/\n:\n/);
  await control(k, 'blackhole');
  const frozen = sse.text.length;
  await sleep(200);
  assert.deepEqual([sse.text.length, sse.ended], [frozen, false]);
  assert.equal((await control(k, 'stats')).open, 1);
  sse.abort();
  const cut = await eventStream(hl(`key=${key()}&heartline=1`));
  await cut.until(/welcome/);
  await control(`proto-${n}`, 'destroy');
  await cut.done;
  assert.ok(cut.ended);
});

describe('long-polling and POST', () => {
  test('the first poll answers at once; later polls hold until an event or `hold`; unknown session 409', async () => {
    const k = key();
    const first = await fetch(hl(`key=${k}&heartline=1&poll=1&open=1&hold=300`));
    assert.deepEqual([first.status, first.headers.get('heartline')], [200, '1']);
    const w = welcomeOf(await first.text());
    assert.deepEqual({ ...w, session: 0 }, { v: 1, session: 0, ack: 0, resumed: false, heartbeat: 300 });
    const pollUrl = hl(`key=${k}&heartline=1&poll=1&hold=300&session=${w.session}`);
    let started = Date.now();
    const idle = await fetch(pollUrl);
    assert.equal(await idle.text(), ':\n');
    assert.ok(Date.now() - started >= 250, 'an idle poll is held');
    started = Date.now();
    const held = fetch(pollUrl).then((res) => res.text());
    await sleep(50);
    await control(k, 'publish', '?data=late');
    assert.equal(await held, 'id: 1\ndata: late\n\n');
    assert.ok(Date.now() - started < 250, 'an event answers the held poll at once');
    const replay = await fetch(`${pollUrl}&lastEventId=0`);
    assert.equal(await replay.text(), 'id: 1\ndata: late\n\n');
    assert.equal((await fetch(hl(`key=${k}&heartline=1&poll=1&session=nope`))).status, 409);
    assert.equal((await control(k, 'stats')).transports.longpoll, 1);
  });

  test('POST frames: multi-byte UTF-8, binary, dedup, ack, pong down the stream, 409 and 400', async () => {
    const k = key();
    const first = await fetch(hl(`key=${k}&heartline=1&poll=1&open=1&hold=2000`));
    const { session } = welcomeOf(await first.text());
    const q = `key=${k}&session=${session}`;
    const text = 'héllo ✓ 𝄞\nline two';
    const res = await post(q, [['msg 1', text], ['bin 2', Buffer.from([0, 255, 10, 13])], ['msg 2', 'dup'], ['ping 5']]);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await res.text(), 'ack 2');
    assert.equal(await (await post(q, [['msg 1', text]])).text(), 'ack 2');
    const events = await (await fetch(hl(`${q}&heartline=1&poll=1&hold=2000`))).text();
    assert.equal(events, 'event: heartline\ndata: pong 5\n\nid: 1\ndata: héllo ✓ 𝄞\ndata: line two\n\n'); // binary: WebSocket only
    const stats = await control(k, 'stats');
    assert.deepEqual(stats.delivered, [text, { binary: Buffer.from([0, 255, 10, 13]).toString('base64') }]);
    assert.equal(stats.duplicates, 2);
    assert.equal((await post(`key=${k}&session=nope`, [['msg 1', 'x']])).status, 409);
    const bad = await fetch(hl(`heartline=1&${q}`), { method: 'POST', body: 'msg 3 99\nshort' });
    assert.equal(bad.status, 400);
    assert.equal(await (await post(`${q}&echo=0`, [['msg 3', 'quiet']])).text(), 'ack 3');
  });

  test('drop on a held poll answers it with a close frame; forget makes later polls 409', async () => {
    const k = key();
    const { session } = welcomeOf(await (await fetch(hl(`key=${k}&heartline=1&poll=1&open=1`))).text());
    const pollUrl = hl(`key=${k}&heartline=1&poll=1&session=${session}`);
    const held = fetch(pollUrl).then((res) => res.text());
    await sleep(50);
    await control(k, 'drop', '?code=1001');
    assert.equal(await held, 'event: heartline\ndata: close 1001 -\n\n');
    assert.equal((await fetch(pollUrl)).status, 409, 'the closed connection is gone');
    await fetch(hl(`key=${k}&heartline=1&poll=1&open=1&session=${session}`));
    await control(k, 'forget');
    assert.equal((await fetch(pollUrl)).status, 409);
    assert.equal((await post(`key=${k}&session=${session}`, [['ping 1']])).status, 409);
  });
});

test('restart: the key keeps its log, sessions and acks; the generator keeps counting', async () => {
  const k = key();
  const { ws, ready } = await handshake(`key=${k}&gen=6&every=40`);
  ws.send('msg 1\nbefore');
  const seen = [];
  while (seen.length < 3) {
    const f = await ws.next();
    if (f.startsWith('msg')) seen.push(Number(/^msg (\d+)/.exec(f)[1]));
  }
  const last = seen.at(-1);
  await control(k, 'restart', '?down=200');
  await ws.closed;
  let again;
  for (let i = 0; !again; i++) {
    again = await handshake(`key=${k}`, { session: ready.session, lastEventId: String(last) }).catch((err) => (i > 40 ? Promise.reject(err) : sleep(50)));
  }
  assert.deepEqual(again.ready, { session: ready.session, ack: 1, resumed: true });
  const ids = [];
  while (ids.length < 7 - last) ids.push(Number(/^msg (\d+)/.exec(await again.ws.next())[1]));
  assert.deepEqual(ids, Array.from({ length: 7 - last }, (_, i) => last + 1 + i)); // 6 generated + 1 echo
  again.ws.close();
});
