// The heartline protocol (PROTOCOL.md) against the fixture server's `/hl/<stream>` route, the same
// behavioural scenarios over every transport: `proto-<name>-<transport>` (catalog.js builds the
// names from TRANSPORTS), plus fallback, plain-server detection and the chaos test.
import { assert, echoHeartbeat, within } from '../lib.js';

export const TRANSPORTS = ['websocket', 'sse', 'longpoll'];

/** HTTP stream options for fast tests: SSE comment every 500 ms, long polls held 1 s. */
const FAST = { hb: 500, hold: 1000 };
const HB = { interval: 2000, timeout: 2000 };
const RC = { initialDelay: 50, maxDelay: 300, factor: 2, jitter: 1 };

const nOf = (data) => {
  try {
    return JSON.parse(data).n;
  } catch {
    return NaN;
  }
};

/** Counts what a received sequence lacks, repeats and puts out of order against 1..total. */
export function audit(values, total) {
  const seen = new Set();
  let duplicated = 0;
  let reordered = 0;
  let prev = 0;
  for (const v of values) {
    if (seen.has(v)) duplicated += 1;
    else if (v < prev) reordered += 1;
    seen.add(v);
    prev = Math.max(prev, v);
  }
  let lost = 0;
  for (let i = 1; i <= total; i += 1) if (!seen.has(i)) lost += 1;
  const bogus = [...seen].filter((v) => !(Number.isInteger(v) && v >= 1 && v <= total)).length;
  return { received: values.length, lost, duplicated, reordered, bogus };
}

/**
 * Events whose id disagrees with the rest: an empty id, an event (payload number) seen under two
 * ids, or one id carried by two events. Ids are opaque, so this is all a client may check.
 */
export function idMismatches(values, ids) {
  const idOf = new Map();
  const valueOf = new Map();
  let bad = 0;
  values.forEach((v, i) => {
    const id = ids[i];
    if (!id || (idOf.has(v) && idOf.get(v) !== id) || (valueOf.has(id) && valueOf.get(id) !== v)) bad += 1;
    idOf.set(v, id);
    valueOf.set(id, v);
  });
  return bad;
}

/** Open + echo: `open` names the transport, a sent message comes back with an id, sendWithAck resolves. */
export async function protoEcho(H, ctx, transport) {
  const rec = ctx.connect(H, ctx.hlUrl(FAST), { transports: [transport], heartbeat: HB, reconnect: RC });
  const open = await rec.wait('open', { timeout: 5000 });
  const info = open.args[0];
  assert(info.transport === transport && rec.conn.transport === transport, `open ${JSON.stringify(info)}, conn.transport ${rec.conn.transport}`);
  assert(info.resumed === false, `a new client is not resumed: ${JSON.stringify(info)}`);
  const since = rec.mark();
  await within(rec.conn.sendWithAck('hello 1'), 5000, 'sendWithAck(hello 1)');
  rec.conn.send('hello 2');
  const [m1, m2] = await rec.waitCount('message', 2, { since, timeout: 5000 });
  assert(m1.args[0] === 'hello 1' && m2.args[0] === 'hello 2', `messages ${JSON.stringify([m1.args[0], m2.args[0]])}`);
  // Event ids are opaque (heartline/server's are EPOCH-N): present, and one per event.
  assert(m1.args[1].id && m2.args[1].id && m1.args[1].id !== m2.args[1].id, `ids ${m1.args[1].id}, ${m2.args[1].id}`);
  assert(m1.args[1].transport === transport && m1.args[1].event === 'message', `meta ${JSON.stringify(m1.args[1])}`);
  await within(rec.conn.sendWithAck('hello 3'), 5000, 'sendWithAck(hello 3)');
  const stats = await ctx.stats();
  assert(JSON.stringify(stats.delivered) === JSON.stringify(['hello 1', 'hello 2', 'hello 3']), `delivered ${JSON.stringify(stats.delivered)}`);
  assert(stats.duplicates === 0 && stats.gaps === 0, `duplicates ${stats.duplicates}, gaps ${stats.gaps}`);
  const others = TRANSPORTS.filter((t) => t !== transport);
  assert(stats.transports[transport] === 1 && others.every((t) => stats.transports[t] === 0), `transports ${JSON.stringify(stats.transports)}`);
  assert(rec.events('close').length === 0 && rec.events('error').length === 0, 'no close or error');
  return { transport, ids: [m1.args[1].id, m2.args[1].id] };
}

/** A server close (code and reason) reaches the app the same over every transport, then it reconnects. */
export async function protoClose(H, ctx, transport) {
  const rec = ctx.connect(H, ctx.hlUrl(FAST), { transports: [transport], heartbeat: HB, reconnect: RC });
  await rec.wait('open', { timeout: 5000 });
  const since = rec.mark();
  await ctx.control('drop', { code: 1001, reason: 'going away' });
  const close = (await rec.wait('close', { since, timeout: 5000 })).args[0];
  // Over HTTP the reason travels percent-encoded in the `close CODE REASON` frame (PROTOCOL.md sections 1, 2).
  assert(close.code === 1001 && close.reason === 'going away', `close ${JSON.stringify(close)}`);
  assert(close.wasClean && close.willReconnect, `close flags ${JSON.stringify(close)}`);
  const state = await rec.wait('state', { since, where: (s) => s === 'reconnecting' });
  assert(state.args[1].reason === 'server-close', `state ${JSON.stringify(state.args)}`);
  const open = await rec.wait('open', { since, timeout: 5000 });
  assert(open.args[0].transport === transport, `reopened over ${open.args[0].transport}`);
  const after = rec.mark();
  rec.conn.send('after the drop');
  await rec.wait('message', { since: after, where: (d) => d === 'after the drop' });
  return { close };
}

/** A black-holed connection (open, silent, nothing written) is found dead by the heartbeat and replaced. */
export async function protoBlackhole(H, ctx, transport) {
  const hb = { interval: 300, timeout: 300 };
  const rec = ctx.connect(H, ctx.hlUrl(FAST), { transports: [transport], heartbeat: hb, reconnect: RC });
  await rec.wait('open', { timeout: 5000 });
  const since = rec.mark();
  const asked = ctx.now();
  await ctx.control('blackhole');
  // Dead after at most interval + timeout of silence; 2 s of slack for timers and the control round trip.
  const state = await rec.wait('state', { since, where: (s) => s === 'reconnecting', timeout: hb.interval + hb.timeout + 2000 });
  assert(state.args[1].reason === 'heartbeat-timeout', `state ${JSON.stringify(state.args)}`);
  const open = await rec.wait('open', { since, timeout: 5000 });
  assert(open.args[0].transport === transport, `reopened over ${open.args[0].transport}`);
  const after = rec.mark();
  await within(rec.conn.sendWithAck('after the black hole'), 5000, 'sendWithAck after the black hole');
  await rec.wait('message', { since: after, where: (d) => d === 'after the black hole' });
  return { detectedAfterMs: Math.round(state.t - asked) };
}

/** Resume: the server streams numbered events; two cuts mid-stream; every event arrives exactly once, in order. */
export async function protoResume(H, ctx, transport) {
  const total = 80;
  const rec = ctx.connect(H, ctx.hlUrl({ ...FAST, gen: total, every: 25, echo: 0 }), {
    transports: [transport],
    heartbeat: HB,
    reconnect: RC,
  });
  await rec.wait('open', { timeout: 5000 });
  await rec.wait('message', { where: (d) => nOf(d) >= 20, timeout: 5000 });
  const afterDrop = rec.mark();
  await ctx.control('drop', { code: 1001, reason: 'going away' });
  const close = (await rec.wait('close', { since: afterDrop, timeout: 5000 })).args[0];
  assert(close.code === 1001 && close.willReconnect, `close ${JSON.stringify(close)}`);
  await rec.wait('open', { since: afterDrop, timeout: 5000 });
  await rec.wait('message', { since: afterDrop, where: (d) => nOf(d) >= 45, timeout: 5000 });
  await ctx.control('destroy');
  await rec.wait('message', { where: (d) => nOf(d) === total, timeout: 10000 });
  const messages = rec.events('message');
  const ns = messages.map((r) => nOf(r.args[0]));
  const counts = audit(ns, total);
  assert(counts.lost === 0 && counts.duplicated === 0 && counts.reordered === 0 && counts.bogus === 0, `events ${JSON.stringify(counts)}`);
  assert(idMismatches(ns, messages.map((r) => r.args[1].id)) === 0, 'one event id per event, never reused');
  const opens = rec.events('open');
  assert(opens.length >= 2, `opens ${opens.length}`);
  assert(opens.slice(1).every((r) => r.args[0].resumed === true && r.args[0].transport === transport), `reopens ${JSON.stringify(opens.map((r) => r.args[0]))}`);
  return { events: ns.length, opens: opens.length, closes: rec.events('close').map((r) => r.args[0].code) };
}

/** Client → server: numbered messages sent while the connection is cut; delivered complete, in order, once. */
export async function protoSend(H, ctx, transport) {
  const total = 150;
  const rec = ctx.connect(H, ctx.hlUrl({ ...FAST, echo: 0 }), { transports: [transport], heartbeat: HB, reconnect: RC });
  await rec.wait('open', { timeout: 5000 });
  const acks = [];
  const cuts = [];
  for (let i = 1; i <= total; i += 1) {
    acks.push(rec.conn.sendWithAck(`m${i}`));
    if (i % 30 === 15) cuts.push(ctx.control(i % 60 === 15 ? 'drop' : 'destroy', i % 60 === 15 ? { code: 1001 } : {}));
    await ctx.quietFor(10);
  }
  await Promise.all(cuts);
  await within(Promise.all(acks), 15000, `acknowledgement of ${total} messages`);
  const stats = await ctx.stats();
  const got = stats.delivered.map((m) => Number(String(m).slice(1)));
  const counts = audit(got, total);
  assert(counts.lost === 0 && counts.duplicated === 0 && counts.reordered === 0 && counts.bogus === 0, `delivered ${JSON.stringify(counts)}`);
  assert(stats.gaps === 0, `server saw ${stats.gaps} gaps`);
  const closes = rec.events('close').length;
  assert(closes >= 2, `only ${closes} cuts reached the client`);
  return { delivered: got.length, serverDuplicates: stats.duplicates, closes };
}

/** WebSocket refused (403): SSE opens at once, with no backoff wait (state reason 'fallback'). */
export async function protoFallbackWs403(H, ctx) {
  // jitter 0: a backoff wait would be exactly initialDelay, long enough to see.
  const rc = { initialDelay: 3000, maxDelay: 3000, factor: 2, jitter: 0 };
  const started = ctx.now();
  const rec = ctx.connect(H, ctx.hlUrl({ ...FAST, ws: 403 }), { heartbeat: HB, reconnect: rc });
  const open = await rec.wait('open', { timeout: 5000 });
  const took = open.t - started;
  assert(open.args[0].transport === 'sse', `opened over ${open.args[0].transport}`);
  assert(took < 2000, `fallback took ${took.toFixed(0)} ms`);
  const states = rec.events('state').map((r) => [r.args[0], r.args[1].reason]);
  assert(states.some(([s, why]) => s === 'reconnecting' && why === 'fallback'), `states ${JSON.stringify(states)}`);
  assert(rec.events('reconnecting').length === 0, 'no backoff (reconnecting event) before the fallback');
  const since = rec.mark();
  await within(rec.conn.sendWithAck('over sse'), 5000, 'sendWithAck over the fallback');
  await rec.wait('message', { since, where: (d) => d === 'over sse' });
  const stats = await ctx.stats();
  assert(stats.transports.sse === 1 && stats.transports.websocket === 0, `transports ${JSON.stringify(stats.transports)}`);
  assert(stats.refused >= 1, `refused ${stats.refused}`);
  return { tookMs: Math.round(took), states };
}

/**
 * Back to WebSocket: the first two upgrades are refused (the connection and the first background
 * check), so SSE carries the stream; the second check works and the client moves to WebSocket
 * mid-stream. Both directions carry numbered messages through the switch: none lost or doubled.
 */
export async function protoUpgrade(H, ctx) {
  const total = 100;
  const rec = ctx.connect(H, ctx.hlUrl({ ...FAST, wsFirst: 2, gen: total, every: 40, echo: 0 }), {
    heartbeat: { interval: 500, timeout: 2000 },
    reconnect: RC,
    upgradeAfter: 1000,
  });
  const first = await rec.wait('open', { timeout: 5000 });
  assert(first.args[0].transport === 'sse', `opened over ${first.args[0].transport}`);
  const acks = [];
  let sent = 0;
  while (rec.conn.transport !== 'websocket' || sent < 20) {
    assert(sent < 150, 'no move back to WebSocket after 6 s');
    acks.push(rec.conn.sendWithAck(`m${(sent += 1)}`));
    await ctx.quietFor(40);
  }
  for (let i = 0; i < 10; i += 1) acks.push(rec.conn.sendWithAck(`m${(sent += 1)}`));
  await within(Promise.all(acks), 5000, `acknowledgement of ${sent} messages`);
  await rec.wait('message', { where: (d) => nOf(d) === total, timeout: 8000 });
  const down = audit(rec.events('message').map((r) => nOf(r.args[0])), total);
  const stats = await ctx.stats();
  const up = audit(stats.delivered.map((m) => Number(String(m).slice(1))), sent);
  for (const [what, c] of [['server → client', down], ['client → server', up]]) {
    assert(c.lost === 0 && c.duplicated === 0 && c.reordered === 0 && c.bogus === 0, `${what}: ${JSON.stringify(c)}`);
  }
  const opens = rec.events('open').map((r) => `${r.args[0].transport}${r.args[0].resumed ? ' resumed' : ''}`);
  assert(JSON.stringify(opens) === JSON.stringify(['sse', 'websocket resumed']), `opens ${JSON.stringify(opens)}`);
  const states = rec.events('state').map((r) => `${r.args[0]}:${r.args[1].reason}`);
  assert(states.includes('reconnecting:upgrade'), `states ${JSON.stringify(states)}`);
  // 1 refused connection, 1 refused check, 1 good check (a side socket, no hello), 1 real connection.
  assert(stats.refused === 2 && stats.transports.sse === 1, `refused ${stats.refused}, transports ${JSON.stringify(stats.transports)}`);
  const movedAt = rec.events('state').find((r) => r.args[1].reason === 'upgrade').t - first.t;
  return { events: down.received, messages: sent, movedAfterMs: Math.round(movedAt), opens };
}

/** SSE behind a buffering proxy (header, no welcome): the deadline passes and long-polling opens. */
export async function protoFallbackBuffer(H, ctx) {
  const hb = { interval: 1000, timeout: 1000 }; // welcome deadline min(timeout, 2000) = 1000 ms
  const started = ctx.now();
  const rec = ctx.connect(H, ctx.hlUrl({ ...FAST, buffer: 1 }), { transports: ['sse', 'longpoll'], heartbeat: hb, reconnect: RC });
  const open = await rec.wait('open', { timeout: 6000 });
  const took = open.t - started;
  assert(open.args[0].transport === 'longpoll', `opened over ${open.args[0].transport}`);
  assert(took >= hb.timeout - 50 && took < hb.timeout + 1500, `long-polling opened after ${took.toFixed(0)} ms`);
  const states = rec.events('state').map((r) => [r.args[0], r.args[1].reason]);
  assert(states.some(([s, why]) => s === 'reconnecting' && why === 'fallback'), `states ${JSON.stringify(states)}`);
  const since = rec.mark();
  await within(rec.conn.sendWithAck('over longpoll'), 5000, 'sendWithAck over the fallback');
  await rec.wait('message', { since, where: (d) => d === 'over longpoll' });
  const stats = await ctx.stats();
  assert(stats.transports.sse >= 1 && stats.transports.longpoll === 1, `transports ${JSON.stringify(stats.transports)}`);
  return { tookMs: Math.round(took), states };
}

/** A plain WebSocket server (`/ws/echo`) with protocol 'auto': plain mode after at most the welcome deadline. */
export async function protoPlainWs(H, ctx) {
  const timeout = 1500; // welcome deadline min(1500, 2000)
  const opts = { heartbeat: echoHeartbeat(3000, timeout), reconnect: RC, protocol: 'auto' };
  const started = ctx.now();
  const rec = ctx.connect(H, ctx.wsUrl('echo'), opts);
  const open = await rec.wait('open', { timeout: 5000 });
  const took = open.t - started;
  assert(open.args[0].transport === 'websocket', `transport ${open.args[0].transport}`);
  assert(took <= timeout + 1000, `plain mode after ${took.toFixed(0)} ms, deadline ${timeout}`);
  const since = rec.mark();
  await within(rec.conn.sendWithAck('plain'), 3000, 'sendWithAck on a plain server');
  const echo = await rec.wait('message', { since, where: (d) => d === 'plain' });
  assert(echo.args[1].id === '', `a plain message has no id: ${JSON.stringify(echo.args[1])}`);
  const stats = await ctx.stats();
  assert(stats.messages.includes('plain') && !stats.messages.some((m) => m.startsWith('hello ') || m.startsWith('msg ')), `server got ${JSON.stringify(stats.messages)}`);
  return { tookMs: Math.round(took) };
}

// ---------------------------------------------------------------------------------------------
// Chaos: hundreds of random faults while both directions carry numbered messages.

/** mulberry32: a seeded PRNG, so a failing run can be replayed with its seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHAOS = {
  faults: 200,
  faultPhaseMs: 40000, // faults stop after this even if fewer were injected
  drainMs: 14000, // then everything must arrive within this
  hardMs: 62000, // the scenario reports (with its counts) before this, whatever hangs (catalog: 70000)
  serverEvents: 700,
  everyMs: 60,
  sendEveryMs: 60,
};

export async function protoChaos(H, ctx, transport) {
  const seed = Number(new URLSearchParams(location.search).get('seed')) || (Date.now() % 2 ** 31);
  const random = prng(seed);
  const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  const t0 = ctx.now();
  const at = () => `${(ctx.now() - t0).toFixed(0)}ms`;
  const log = [];
  const url = ctx.hlUrl({ gen: CHAOS.serverEvents, every: CHAOS.everyMs, echo: 0, hb: 200, hold: 400 });
  const conn = H.connect(url, {
    transports: [transport],
    heartbeat: { interval: 300, timeout: 300 },
    reconnect: { initialDelay: 20, maxDelay: 200, factor: 2, jitter: 1 },
    queue: { limit: 100000 },
  });
  const received = [];
  const ids = [];
  let opens = 0;
  let closes = 0;
  let errors = 0;
  let lastN = 0;
  let allIn;
  const allReceived = new Promise((resolve) => (allIn = resolve));
  conn.on('message', (data, meta) => {
    const n = nOf(data);
    received.push(n);
    ids.push(meta.id);
    if (n < lastN + 1 || n > lastN + 1) log.push(`${at()} message n=${n} id=${meta.id} after n=${lastN}`);
    lastN = Math.max(lastN, n);
    if (new Set(received).size >= CHAOS.serverEvents && lastN === CHAOS.serverEvents) allIn();
  });
  conn.on('open', (info) => (opens += 1, log.push(`${at()} open ${JSON.stringify(info)} lastN=${lastN}`)));
  conn.on('close', (c) => (closes += 1, log.push(`${at()} close ${JSON.stringify(c)}`)));
  conn.on('state', (s, i) => log.push(`${at()} state ${s} ${i.reason}`));
  conn.on('error', (e) => (errors += 1, log.push(`${at()} error ${e?.code}: ${e?.message}`)));

  /** Control requests fail while the server restarts: retry them until it is back. */
  const hardEnd = t0 + CHAOS.hardMs;
  const control = async (action, params = {}, tries = 60) => {
    for (let i = 0; ; i += 1) {
      const started = ctx.now();
      const left = Math.max(1, hardEnd - started);
      try {
        // Bounded here too: a fetch still queued for a connection slot may not honour its abort signal.
        const limit = Math.min(left, action === 'wait' ? CHAOS.drainMs + 2000 : 3000);
        const answer = await within(ctx.control(action, params, { timeout: limit }), limit + 500, `control ${action}`);
        if (ctx.now() - started > 1000) log.push(`${at()} control ${action} took ${(ctx.now() - started).toFixed(0)} ms`);
        return answer;
      } catch (err) {
        log.push(`${at()} control ${action} failed after ${(ctx.now() - started).toFixed(0)} ms: ${err.message}`);
        if (i >= tries || ctx.now() > hardEnd) throw err;
        await ctx.quietFor(100);
      }
    }
  };
  let progress = () => ({});

  try {
    await within(new Promise((resolve) => conn.on('open', resolve)), 5000, 'first open');
    const faults = { drop: 0, destroy: 0, blackhole: 0, restart: 0 };
    let injected = 0;
    let sent = 0;
    const acks = [];
    let rejected = 0;
    let acked = 0;
    // Stopped by an AbortSignal, not a captured `let sending` flag: WebKit's optimizing JIT (JSC
    // DFG, WebKitGTK 2.50) was measured to keep reading that flag as true for seconds, or for
    // good, after the fault loop had set it to false; `signal.aborted` is a DOM getter it re-reads.
    const stopSending = new AbortController();
    const sender = (async () => {
      while (!stopSending.signal.aborted) {
        sent += 1;
        acks.push(conn.sendWithAck(`m${sent}`).then(() => void (acked += 1), (e) => (rejected += 1, log.push(`${at()} sendWithAck m${sent} rejected: ${e?.message}`))));
        await ctx.quietFor(CHAOS.sendEveryMs);
      }
    })();

    progress = () => ({ at: at(), faults: injected, faultKinds: faults, sent, acked, received: received.length, lastN, opens, closes, errors });
    const faultEnd = ctx.now() + CHAOS.faultPhaseMs;
    while (injected < CHAOS.faults && ctx.now() < faultEnd) {
      await ctx.quietFor(between(100, 300));
      const r = random();
      const kind = r < 0.3 ? 'drop' : r < 0.6 ? 'destroy' : r < 0.8 ? 'blackhole' : 'restart';
      const params = kind === 'drop' ? { code: [1000, 1001, 1011][between(0, 2)] } : kind === 'restart' ? { down: between(50, 250) } : {};
      try {
        await control(kind, params);
        faults[kind] += 1;
        injected += 1;
        log.push(`${at()} fault ${kind} ${JSON.stringify(params)}`);
      } catch (err) {
        log.push(`${at()} fault ${kind} not injected: ${err.message}`);
      }
      if (log.length > 4000) log.splice(0, 1000);
    }
    stopSending.abort();
    await within(sender, 2000, 'sender stop'); // bounded like every other wait: report, never hang
    const faultPhase = Math.round(ctx.now() - t0);

    // Drain: every server event, every client message acknowledged and seen by the server.
    const drainFor = Math.max(1000, Math.min(CHAOS.drainMs, hardEnd - ctx.now() - 3000));
    const drained = await within(
      Promise.all([allReceived, Promise.all(acks), control('wait', { delivered: sent, timeout: drainFor }, 5)]),
      drainFor,
      'drain',
    ).then(
      () => true,
      (err) => (log.push(`${at()} ${err.message}`), false),
    );
    const stats = await control('stats');
    const down = audit(received, CHAOS.serverEvents);
    const up = audit(
      stats.delivered.map((m) => Number(String(m).slice(1))),
      sent,
    );
    const idMismatch = idMismatches(received, ids);
    const result = {
      transport,
      seed,
      faults: injected,
      faultKinds: faults,
      serverEvents: CHAOS.serverEvents,
      clientMessages: sent,
      lost: down.lost + up.lost,
      duplicated: down.duplicated + up.duplicated,
      reordered: down.reordered + up.reordered,
      down,
      up,
      serverDuplicates: stats.duplicates,
      serverGaps: stats.gaps,
      transports: stats.transports,
      opens,
      closes,
      errors,
      rejected,
      faultPhaseMs: faultPhase,
      totalMs: Math.round(ctx.now() - t0),
    };
    const clean =
      drained &&
      result.lost === 0 &&
      result.duplicated === 0 &&
      result.reordered === 0 &&
      down.bogus === 0 &&
      up.bogus === 0 &&
      idMismatch === 0 &&
      rejected === 0 &&
      injected >= 150;
    if (!clean) {
      for (const line of log.slice(-150)) ctx.note(line);
      throw new Error(`chaos over ${transport}: ${JSON.stringify({ ...result, drained, idMismatch })}`);
    }
    return result;
  } catch (err) {
    if (!String(err.message).startsWith('chaos over')) {
      for (const line of log.slice(-150)) ctx.note(line);
      err.message = `${err.message} — progress ${JSON.stringify(progress())}`;
    }
    throw err;
  } finally {
    conn.close();
  }
}
