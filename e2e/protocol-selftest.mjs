// Self-test of the heartline protocol's reference server (e2e/server/protocol*.mjs) with the `ws`
// client and fetch, no browser: `node --test e2e/protocol-selftest.mjs`. Every wait is bounded.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startServer } from './server.mjs';
import { chunkCheck } from './server/uploads.mjs';

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

/** POSTs the frames one per request (section 5); resolves the last response. */
async function post(query, frames) {
  let res;
  for (const [header, payload = ''] of frames) {
    const [type, n] = header.split(' ');
    const control = type !== 'msg' && type !== 'bin';
    const url = hl(`heartline=1&${query}${control ? '' : `&seq=${n}${type === 'bin' ? '&bin=1' : ''}`}`);
    res = await fetch(url, { method: 'POST', body: control ? header : payload });
  }
  return res;
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

  test('POST frames: multi-byte UTF-8, binary, dedup, ack, pong down the stream, 409, bad seq', async () => {
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
    const bad = await fetch(hl(`heartline=1&${q}&seq=x`), { method: 'POST', body: 'not delivered' });
    assert.equal(await bad.text(), 'ack 2');
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

// Section 7. `bytes(n)` is a file whose every byte differs from its neighbours, so a chunk written
// at the wrong offset or twice shows up in the digest.
const bytes = (n, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));
/** PROTOCOL.md section 7's chunk CHECK, written independently of the server's (byte by byte). */
const check = (buf) => {
  let a = 0;
  let b = 0;
  for (let i = 0; i < buf.length; i += 4) {
    let word = 0;
    for (let k = 0; k < 4 && i + k < buf.length; k += 1) word += buf[i + k] * 2 ** (8 * k);
    a = (a + word) >>> 0;
    b = (b + a) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
};
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const openFrame = (id, info) => `up.open ${id}\n${JSON.stringify(info)}`;
const doneOf = (frame, id) => {
  assert.ok(frame.startsWith(`up.done ${id} `), frame);
  return JSON.parse(frame.slice(`up.done ${id} `.length));
};
/** The server's own record of a key's upload, and the file it wrote (to look at the bytes on disk). */
const uploadOf = (k, i = 0) => server.registry.get(k).heartline.uploads.all[i];

/** A chunk frame: `up.chunk` header line, LF, the bytes of `file[offset, end)`, as one binary frame. */
function chunk(ws, id, file, offset, end = file.length, sha) {
  const part = file.subarray(offset, end);
  ws.send(Buffer.concat([Buffer.from(`up.chunk ${id} ${offset} ${sha ?? check(part)}\n`), part]));
}

describe('chunk check', () => {
  test('known values, and the server agrees with an independent implementation on random chunks', () => {
    assert.equal(check(Buffer.from([])), '0000000000000000');
    assert.equal(check(Buffer.from([1, 0, 0, 0, 2, 0, 0, 0])), '0000000300000004');
    assert.equal(check(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 7])), '0000000500000002'); // both sums wrap mod 2^32; the tail is 07 00 00 00
    for (let i = 0; i < 50; i += 1) {
      const bytes = randomBytes(Math.floor(Math.random() * 5000));
      const unaligned = Buffer.concat([Buffer.alloc(1), bytes]).subarray(1);
      assert.equal(chunkCheck(unaligned), check(bytes));
    }
  });
});

describe('uploads over WebSocket', () => {
  test('three chunks: up.offset 0, cumulative acks, up.done with the whole sha256; stats and the file agree', async () => {
    const k = key();
    const file = bytes(3000);
    const { ws } = await handshake(`key=${k}`);
    ws.send(openFrame('a-1', { name: 'a.bin', type: 'application/octet-stream', size: file.length, metadata: { by: 'test' } }));
    assert.equal(await ws.next(), 'up.offset a-1 0');
    for (const [from, to] of [[0, 1000], [1000, 2000], [2000, 3000]]) chunk(ws, 'a-1', file, from, to);
    assert.deepEqual([await ws.next(), await ws.next(), await ws.next()], ['up.ack a-1 1000', 'up.ack a-1 2000', 'up.ack a-1 3000']);
    const done = doneOf(await ws.next(), 'a-1');
    assert.deepEqual(done, { id: 'a-1', name: 'a.bin', type: 'application/octet-stream', size: 3000, sha256: sha256(file), metadata: { by: 'test' } });
    const { uploads } = await control(k, 'stats');
    assert.deepEqual(uploads, [
      { id: 'a-1', name: 'a.bin', size: 3000, received: 3000, sha256: sha256(file), done: true, aborted: false, error: null, chunks: 3, resends: 0, opens: 1 },
    ]);
    assert.deepEqual(readFileSync(uploadOf(k).path), file);
    ws.send('up.open bad!id\n{"size":1}');
    assert.equal(await ws.next(), 'up.error bad!id 400 bad%20upload%20id');
    ws.send('up.open m\n{"name":"no size"}');
    assert.equal(await ws.next(), 'up.error m 400 malformed');
    ws.close();
  });

  test('resume on a new socket: up.open again names the held length; an overlapping resend is not stored twice', async () => {
    const k = key();
    const file = bytes(1200, 7);
    const first = await handshake(`key=${k}`);
    first.ws.send(openFrame('r', { name: 'r.bin', size: file.length }));
    assert.equal(await first.ws.next(), 'up.offset r 0');
    chunk(first.ws, 'r', file, 0, 500);
    assert.equal(await first.ws.next(), 'up.ack r 500');
    first.ws.close();
    await first.ws.closed;
    const again = await handshake(`key=${k}`, { session: first.ready.session });
    again.ws.send(openFrame('r', { name: 'r.bin', size: file.length }));
    assert.equal(await again.ws.next(), 'up.offset r 500');
    chunk(again.ws, 'r', file, 300, 800); // bytes [300, 500) are held already
    assert.equal(await again.ws.next(), 'up.ack r 800');
    chunk(again.ws, 'r', file, 800);
    assert.equal(await again.ws.next(), 'up.ack r 1200');
    assert.equal(doneOf(await again.ws.next(), 'r').sha256, sha256(file));
    const [record] = (await control(k, 'stats')).uploads;
    assert.deepEqual([record.received, record.chunks, record.resends, record.opens], [1200, 3, 1, 2]);
    assert.deepEqual(readFileSync(uploadOf(k).path), file);
    again.ws.send(openFrame('r', { size: file.length })); // a client that missed the up.done gets it again
    assert.deepEqual([await again.ws.next(), doneOf(await again.ws.next(), 'r').size], ['up.offset r 1200', 1200]);
    again.ws.close();
  });

  test('a gap gets up.offset and stores nothing; a past-size chunk 413; a bad chunk SHA 422 and the upload is gone', async () => {
    const k = key();
    const file = bytes(100);
    const { ws } = await handshake(`key=${k}`);
    ws.send(openFrame('g', { size: 100 }));
    assert.equal(await ws.next(), 'up.offset g 0');
    chunk(ws, 'g', file, 50);
    assert.equal(await ws.next(), 'up.offset g 0');
    chunk(ws, 'g', file, 0, 40, '-'); // no SHA: stored unchecked
    assert.equal(await ws.next(), 'up.ack g 40');
    chunk(ws, 'g', file, 40, 60, check(Buffer.from('something else')));
    assert.equal(await ws.next(), 'up.error g 422 checksum%20mismatch');
    chunk(ws, 'g', file, 40, 60);
    assert.equal(await ws.next(), 'up.error g 404 unknown%20upload');
    ws.send(openFrame('p', { size: 10 }));
    assert.equal(await ws.next(), 'up.offset p 0');
    chunk(ws, 'p', bytes(11), 0);
    assert.equal(await ws.next(), 'up.error p 413 past%20size');
    const uploads = (await control(k, 'stats')).uploads;
    assert.deepEqual(uploads.map((u) => [u.id, u.received, u.error, u.chunks]), [['g', 40, 422, 3], ['p', 0, 413, 1]]);
    assert.equal(existsSync(uploadOf(k).path), false);
    ws.close();
  });

  test('too large (maxUpload=, and the 1 GiB default) gets 413; zero bytes are done at once; abort deletes the file', async () => {
    const k = key();
    const small = await handshake(`key=${k}&maxUpload=100`);
    small.ws.send(openFrame('big', { size: 101 }));
    assert.equal(await small.ws.next(), 'up.error big 413 too%20large');
    small.ws.close();
    const { ws } = await handshake(`key=${k}`);
    ws.send(openFrame('huge', { size: 1024 ** 3 + 1 }));
    assert.equal(await ws.next(), 'up.error huge 413 too%20large');
    ws.send(openFrame('empty', { name: 'e.txt', size: 0 }));
    assert.equal(await ws.next(), 'up.offset empty 0');
    assert.deepEqual(doneOf(await ws.next(), 'empty'), { id: 'empty', name: 'e.txt', type: null, size: 0, sha256: sha256(Buffer.alloc(0)), metadata: null });
    ws.send(openFrame('x', { size: 10 }));
    assert.equal(await ws.next(), 'up.offset x 0');
    chunk(ws, 'x', bytes(10), 0, 4);
    assert.equal(await ws.next(), 'up.ack x 4');
    const { path } = uploadOf(k, 1);
    assert.equal(readFileSync(path).length, 4);
    ws.send('up.abort x');
    chunk(ws, 'x', bytes(10), 4);
    assert.equal(await ws.next(), 'up.error x 404 unknown%20upload');
    assert.equal(existsSync(path), false);
    const uploads = (await control(k, 'stats')).uploads;
    assert.deepEqual(uploads.map((u) => [u.id, u.done, u.aborted]), [['empty', true, false], ['x', false, true]]);
    ws.send(openFrame('x', { size: 10 })); // the ID is free again: a new upload
    assert.equal(await ws.next(), 'up.offset x 0');
    ws.close();
  });

  test('restart: the upload survives and resumes from the stored offset', async () => {
    const k = key();
    const file = bytes(800, 3);
    const { ws, ready } = await handshake(`key=${k}`);
    ws.send(openFrame('s', { size: file.length }));
    assert.equal(await ws.next(), 'up.offset s 0');
    chunk(ws, 's', file, 0, 300);
    assert.equal(await ws.next(), 'up.ack s 300');
    await control(k, 'restart', '?down=100');
    await ws.closed;
    let again;
    for (let i = 0; !again; i++) {
      again = await handshake(`key=${k}`, { session: ready.session }).catch((err) => (i > 40 ? Promise.reject(err) : sleep(50)));
    }
    again.ws.send(openFrame('s', { size: file.length }));
    assert.equal(await again.ws.next(), 'up.offset s 300');
    chunk(again.ws, 's', file, 300);
    assert.equal(await again.ws.next(), 'up.ack s 800');
    assert.equal(doneOf(await again.ws.next(), 's').sha256, sha256(file));
    again.ws.close();
  });
});

/** A session from a first poll, and a POST of one upload frame (header line, `\n`, bytes). */
async function postSession(query = '') {
  const k = key();
  const { session } = welcomeOf(await (await fetch(hl(`key=${k}&heartline=1&poll=1&open=1${query}`))).text());
  const send = async (header, body = null) => {
    const data = body === null ? Buffer.from(header) : Buffer.concat([Buffer.from(`${header}\n`), Buffer.from(body)]);
    const res = await fetch(hl(`key=${k}&heartline=1&session=${session}${query}`), { method: 'POST', body: data });
    assert.equal(res.status, 200);
    return res.text();
  };
  return { k, send };
}

describe('uploads over POST', () => {
  test('open + two chunks: each response body is the answer frame, the last one up.done; abort answers nothing', async () => {
    const { k, send } = await postSession();
    const file = Buffer.concat([bytes(500), Buffer.from('\n\n\r\n'), bytes(500, 9)]); // newlines in the bytes: split at the first only
    assert.equal(await send('up.open h', JSON.stringify({ name: 'h.bin', size: file.length })), 'up.offset h 0');
    assert.equal(await send(`up.chunk h 0 ${check(file.subarray(0, 502))}`, file.subarray(0, 502)), 'up.ack h 502');
    const last = await send(`up.chunk h 502 ${check(file.subarray(502))}`, file.subarray(502));
    assert.deepEqual(doneOf(last, 'h'), { id: 'h', name: 'h.bin', type: null, size: 1004, sha256: sha256(file), metadata: null });
    assert.deepEqual(readFileSync(uploadOf(k).path), file);
    assert.equal(await send('up.open z', '{"size":3}'), 'up.offset z 0');
    assert.equal(await send('up.abort z'), '');
    assert.equal(await send('up.chunk z 0 -', 'abc'), 'up.error z 404 unknown%20upload');
    const { uploads, messages } = await control(k, 'stats');
    assert.deepEqual(uploads.map((u) => [u.id, u.received, u.done, u.aborted, u.chunks]), [['h', 1004, true, false, 2], ['z', 0, false, true, 0]]);
    assert.ok(messages.includes('up.abort z')); // text frames are logged; chunks, binary frames as over WebSocket, are not
    assert.ok(!messages.some((m) => m.startsWith('up.chunk')));
  });
});

describe('upLie: a server that lies, for the client\'s bad-input tests', () => {
  /** An upload of `file` in 100-byte chunks on a socket with `upLie=MODE`; the frames until `ping`'s pong. */
  async function lying(mode, file = bytes(300)) {
    const k = key();
    const { ws } = await handshake(`key=${k}&upLie=${mode}`);
    ws.send(openFrame('l', { size: file.length }));
    for (let at = 0; at < file.length; at += 100) chunk(ws, 'l', file, at, at + 100);
    ws.send('ping 1'); // frames are answered in order: everything before the pong is the upload's
    const frames = [];
    for (let f = await ws.next(); f !== 'pong 1'; f = await ws.next()) frames.push(f);
    ws.close();
    return { frames, record: (await control(k, 'stats')).uploads[0] };
  }

  test('beyond: the first up.ack claims size + 1000', async () => {
    const { frames } = await lying('beyond');
    assert.deepEqual(frames.slice(0, 2), ['up.offset l 0', 'up.ack l 1300']);
  });

  test('back: after two acks, one goes back to 0', async () => {
    const { frames } = await lying('back');
    assert.deepEqual(frames, ['up.offset l 0', 'up.ack l 100', 'up.ack l 200', 'up.ack l 0']);
  });

  test('silent: no up.ack or up.done (over POST an empty body), but every byte is stored', async () => {
    const file = bytes(300);
    const { frames, record } = await lying('silent', file);
    assert.deepEqual(frames, ['up.offset l 0']);
    assert.deepEqual([record.received, record.done, record.sha256], [300, true, sha256(file)]);
    const { send } = await postSession('&upLie=silent');
    assert.equal(await send('up.open q', '{"size":3}'), 'up.offset q 0');
    assert.equal(await send('up.chunk q 0 -', 'abc'), '', 'over POST: an empty body');
  });

  test('early: up.done right after up.offset, before any bytes (over POST: as the answer to up.open)', async () => {
    const { frames, record } = await lying('early');
    assert.equal(frames[0], 'up.offset l 0');
    assert.equal(doneOf(frames[1], 'l').size, 300);
    assert.equal(record.received, 300, 'the server still stores the bytes');
    const { send } = await postSession('&upLie=early');
    assert.equal(doneOf(await send('up.open e', '{"size":5}'), 'e').size, 5);
  });
});
