// Round trips over a healthy connection: text, JSON, binary, streams, big and malformed frames, CSP.
import { assert, echoHeartbeat } from '../lib.js';

const HB = echoHeartbeat(2000, 2000);

async function roundTrip(rec, data, where) {
  const since = rec.mark();
  rec.conn.send(data);
  return rec.wait('message', { since, where });
}

export async function echo(H, ctx) {
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { heartbeat: HB });
  const open = await rec.wait('open');
  assert(open.args[0].transport === 'websocket', `open.transport is ${open.args[0].transport}`);
  assert(rec.conn.state === 'open' && rec.conn.transport === 'websocket', 'conn.state/transport after open');
  // 'connecting' is emitted inside connect(), before anyone can subscribe: only 'open' is seen.
  const states = rec.events('state').map((r) => `${r.args[1].previous}>${r.args[0]}`);
  assert(states.join() === 'connecting>open', `state transitions ${states}`);
  const got = await roundTrip(rec, 'hello, heartline', (d) => d === 'hello, heartline');
  const [, meta] = got.args;
  assert(meta.transport === 'websocket' && meta.event === 'message' && meta.id === '', `meta ${JSON.stringify(meta)}`);
  assert(rec.conn.lastEventId === '', 'no event id on a plain server');
  const stats = await ctx.stats();
  assert(stats.accepted === 1 && stats.messages.includes('hello, heartline'), `server stats ${JSON.stringify(stats)}`);
  return { rtt: Math.round(got.t - open.t) };
}

export async function echoJson(H, ctx) {
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { json: true, heartbeat: HB });
  await rec.wait('open');
  const value = { text: 'héllo ✓', n: 42, list: [true, null, 1.5], nested: { a: [] } };
  const got = await roundTrip(rec, value, (d) => typeof d === 'object' && d !== null);
  assert(JSON.stringify(got.args[0]) === JSON.stringify(value), `JSON came back as ${JSON.stringify(got.args[0])}`);
  const str = await roundTrip(rec, 'a plain string', (d) => typeof d === 'string');
  assert(str.args[0] === 'a plain string', 'a JSON string value round-trips');
  const { messages } = await ctx.stats();
  assert(messages.includes(JSON.stringify(value)), 'the server received JSON text');
  return { ok: true };
}

const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function echoBinary(H, ctx) {
  const sent = bytes(1000);
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { heartbeat: HB });
  await rec.wait('open');
  const ab = await roundTrip(rec, sent, (d) => d instanceof ArrayBuffer);
  assert(sameBytes(new Uint8Array(ab.args[0]), sent), 'Uint8Array → ArrayBuffer bytes differ');
  const view = await roundTrip(rec, new DataView(sent.buffer, 10, 20), (d) => d instanceof ArrayBuffer);
  assert(sameBytes(new Uint8Array(view.args[0]), sent.subarray(10, 30)), 'a DataView sends only its window');
  const blobRec = ctx.connect(H, ctx.wsUrl('echo'), { binaryType: 'blob', heartbeat: HB });
  await blobRec.wait('open');
  const blob = await roundTrip(blobRec, new Blob([sent]), (d) => d instanceof Blob);
  assert(sameBytes(new Uint8Array(await blob.args[0].arrayBuffer()), sent), 'Blob bytes differ');
  return { ok: true };
}

export async function stream(H, ctx) {
  const count = 300;
  const rec = ctx.connect(H, ctx.wsUrl('stream', { count }), { json: true, heartbeat: HB });
  const all = await rec.waitCount('message', count, { timeout: 6000 });
  const ns = all.map((r) => r.args[0].n);
  assert(ns.every((n, i) => n === i + 1), `out of order: ${ns.slice(0, 10)}…`);
  return { received: ns.length };
}

export async function oversized(H, ctx) {
  const size = 4 * 1024 * 1024;
  const rec = ctx.connect(H, ctx.wsUrl('oversized', { bytes: size }), { heartbeat: HB });
  const got = await rec.wait('message', { timeout: 10000 });
  const text = got.args[0];
  assert(typeof text === 'string' && text.length === size, `length ${text?.length}`);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (let i = 0; i < size; i += 1) {
    if (text.charCodeAt(i) !== alphabet.charCodeAt(i % 36)) throw new Error(`byte ${i} differs`);
  }
  await roundTrip(rec, 'after', (d) => d === 'after');
  assert(rec.events('close').length === 0, 'the big frame must not close the connection');
  return { bytes: text.length };
}

export async function malformedJson(H, ctx) {
  const rec = ctx.connect(H, ctx.wsUrl('malformed', { kind: 'json' }), { json: true, heartbeat: HB });
  await rec.wait('open');
  const { args } = await rec.wait('error');
  const [err] = args;
  assert(H.isHeartlineError(err) && err.code === 'malformed', `error ${err?.name} ${err?.code}`);
  assert(err.data === 'this is {not json', `error.data ${JSON.stringify(err.data)}`);
  await roundTrip(rec, { still: 'open' }, (d) => d?.still === 'open');
  assert(rec.conn.state === 'open' && rec.events('close').length === 0, 'the connection stays open');
  assert(rec.events('message').length === 1, 'the malformed frame is not delivered as a message');
  return { code: err.code };
}

/** Invalid UTF-8 and a reserved opcode: the browser must fail the connection; heartline reconnects. */
export async function malformedFrame(H, ctx) {
  const results = {};
  for (const kind of ['utf8', 'opcode']) {
    let attempts = 0;
    let served = false; // the bad route's valid frame arrived
    // The URL function is evaluated on every attempt: the bad route until it has served its frames
    // (an attempt that fails to connect on a loaded machine just tries it again), then the echo.
    const url = () => (attempts++, served ? ctx.wsUrl('echo') : ctx.wsUrl('malformed', { kind, delay: 100 }));
    const rec = ctx.connect(H, url, { heartbeat: HB, reconnect: { initialDelay: 50, maxDelay: 200 } });
    rec.conn.on('message', () => (served = true));
    const first = await rec.wait('message');
    assert(first.args[0] === 'this is {not json', 'the valid frame before the bad one arrives');
    const close = await rec.wait('close');
    const info = close.args[0];
    assert(info.willReconnect === true && info.code !== 1000, `close ${JSON.stringify(info)}`);
    const reopened = await rec.wait('open', { since: close.index });
    await roundTrip(rec, kind, (d) => d === kind);
    assert(attempts >= 2 && reopened.args[0].transport === 'websocket', `attempts ${attempts}`);
    results[kind] = info.code;
    rec.conn.close();
  }
  return results;
}

/** Served with ?csp=1: prove the policy is in force, then work under it. */
export async function csp(H, ctx) {
  let evalBlocked = false;
  try {
    new Function('return 1')();
  } catch {
    evalBlocked = true;
  }
  assert(evalBlocked, "script-src 'self' is not in force (new Function ran)");
  let trustedTypes = 'unsupported';
  if (window.trustedTypes) {
    try {
      document.createElement('div').innerHTML = '<b>x</b>';
      trustedTypes = 'not enforced';
    } catch {
      trustedTypes = 'enforced';
    }
    assert(trustedTypes === 'enforced', 'require-trusted-types-for is not in force');
  }
  // Violation reports arrive asynchronously; the two checks above cause their own, from this file.
  const violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    if (!e.sourceFile.endsWith('/pages/scenarios/basic.js')) violations.push(`${e.violatedDirective} ${e.sourceFile}`);
  });
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { json: true, heartbeat: echoHeartbeat(300, 2000) });
  await rec.wait('open');
  await roundTrip(rec, { csp: true }, (d) => d?.csp === true);
  await rec.wait('heartbeat', { timeout: 4000 });
  const since = rec.mark();
  await ctx.control('drop', { code: 1012 });
  await rec.wait('open', { since, timeout: 4000 });
  assert(violations.length === 0, `CSP violations: ${violations}`);
  return { trustedTypes };
}
