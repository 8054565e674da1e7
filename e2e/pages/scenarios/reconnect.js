// Losing the server and getting it back: drops, resets, restarts, refusals, 1013, close().
import { assert, echoHeartbeat } from '../lib.js';

const HB = echoHeartbeat(3000, 3000);
/** setTimeout never fires early, but the SDK and this page read different clocks (Date vs performance). */
const CLOCK_SLACK = 5;

/** The backoff window for the k-th retry (0-based) since the last stable connection. */
const windowFor = (rc, k) => Math.min(rc.maxDelay, rc.initialDelay * rc.factor ** k);

/**
 * Check the `reconnecting` events since `since` against the schedule: consecutive attempt numbers,
 * each delay inside its full-jitter window, and the next attempt not earlier than the delay.
 */
function checkSchedule(rec, rc, since) {
  const retries = rec.events('reconnecting', since);
  retries.forEach((r, k) => {
    const { attempt, delay } = r.args[0];
    assert(k === 0 || attempt === retries[k - 1].args[0].attempt + 1, `attempt numbers ${retries.map((x) => x.args[0].attempt)}`);
    assert(delay >= 0 && delay <= windowFor(rc, k), `retry ${k}: delay ${delay} outside [0, ${windowFor(rc, k)}]`);
    const outcome = rec.list.find((x) => x.index > r.index && (x.type === 'open' || x.type === 'close'));
    if (outcome) {
      const waited = outcome.t - r.t;
      assert(waited >= delay - CLOCK_SLACK, `retry ${k} came after ${waited.toFixed(1)} ms, before its delay ${delay.toFixed(1)}`);
    }
  });
  return retries.map((r) => Math.round(r.args[0].delay));
}

async function echoes(rec, text) {
  const since = rec.mark();
  rec.conn.send(text);
  await rec.wait('message', { since, where: (d) => d === text });
}

export async function dropReconnect(H, ctx) {
  const rc = { initialDelay: 200, maxDelay: 1000, factor: 2, jitter: 1 };
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { heartbeat: HB, reconnect: rc });
  await rec.wait('open');
  const since = rec.mark();
  // 1001, not the route's default 1012: WebKitGTK reports 1012-1014 as 1006 (see catalog.js).
  await ctx.control('drop', { code: 1001, reason: 'going away' });
  const close = (await rec.wait('close', { since })).args[0];
  assert(close.code === 1001 && close.reason === 'going away', `close ${JSON.stringify(close)}`);
  assert(close.wasClean && close.willReconnect, `close flags ${JSON.stringify(close)}`);
  const state = await rec.wait('state', { since, where: (s) => s === 'reconnecting' });
  assert(state.args[1].reason === 'server-close' && state.args[1].previous === 'open', `state ${JSON.stringify(state.args)}`);
  const retry = await rec.wait('reconnecting', { since });
  assert(retry.args[0].reason === 'server-close', `reconnecting.reason ${retry.args[0].reason}`);
  const open = await rec.wait('open', { since, timeout: rc.maxDelay + 3000 });
  const delays = checkSchedule(rec, rc, since);
  await echoes(rec, 'after the drop');
  const stats = await ctx.stats();
  assert(stats.accepted === 2, `accepted ${stats.accepted}`);
  return { delays, reopenedAfter: Math.round(open.t - retry.t) };
}

export async function destroyReconnect(H, ctx) {
  const rc = { initialDelay: 100, maxDelay: 500, factor: 2, jitter: 1 };
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { heartbeat: HB, reconnect: rc });
  await rec.wait('open');
  const since = rec.mark();
  await ctx.control('destroy');
  const close = (await rec.wait('close', { since })).args[0];
  assert(close.code === 1006 && !close.wasClean && close.willReconnect, `close ${JSON.stringify(close)}`);
  const retry = await rec.wait('reconnecting', { since });
  assert(retry.args[0].reason === 'network-error', `reason ${retry.args[0].reason}`);
  await rec.wait('open', { since, timeout: rc.maxDelay + 3000 });
  await echoes(rec, 'after the reset');
  return { delays: checkSchedule(rec, rc, since) };
}

export async function restart(H, ctx) {
  const down = 800;
  const rc = { initialDelay: 100, maxDelay: 400, factor: 2, jitter: 1 };
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { heartbeat: HB, reconnect: rc });
  await rec.wait('open');
  const since = rec.mark();
  const asked = ctx.now();
  await ctx.control('restart', { down });
  const close = (await rec.wait('close', { since })).args[0];
  assert(close.code === 1006 && close.willReconnect, `close ${JSON.stringify(close)}`);
  const open = await rec.wait('open', { since, timeout: down + rc.maxDelay + 5000 });
  assert(open.t - asked >= down - 50, `reopened ${open.t - asked} ms after the restart, but the server was down ${down} ms`);
  const delays = checkSchedule(rec, rc, since);
  assert(delays.length >= 2, `expected refused attempts while down, got retries ${delays}`);
  await echoes(rec, 'after the restart');
  const stats = await ctx.stats();
  assert(stats.accepted === 2, `accepted ${stats.accepted}`);
  return { delays, reopenedAfter: Math.round(open.t - asked) };
}

/**
 * 1013 "try again later" waits at least initialDelay * 10. This stands in for Retry-After over
 * WebSocket: browsers hide the status of a refused upgrade, so a WebSocket client never sees one.
 */
export async function close1013(H, ctx) {
  const rc = { initialDelay: 100, maxDelay: 400, factor: 2, jitter: 1 };
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { heartbeat: HB, reconnect: rc });
  await rec.wait('open');
  const since = rec.mark();
  await ctx.control('drop', { code: 1013, reason: 'try again later' });
  const close = await rec.wait('close', { since });
  assert(close.args[0].code === 1013, `close ${JSON.stringify(close.args[0])}`);
  const retry = (await rec.wait('reconnecting', { since })).args[0];
  assert(retry.delay >= rc.initialDelay * 10, `delay ${retry.delay} < ${rc.initialDelay * 10}`);
  const open = await rec.wait('open', { since, timeout: 5000 });
  assert(open.t - close.t >= rc.initialDelay * 10 - CLOCK_SLACK, `reopened after ${open.t - close.t} ms`);
  return { delay: Math.round(retry.delay), waited: Math.round(open.t - close.t) };
}

/** 403 on every upgrade: the browser only sees a failed socket, so heartline keeps backing off. */
export async function refusedUpgrade(H, ctx) {
  const rc = { initialDelay: 50, maxDelay: 400, factor: 2, jitter: 1 };
  await ctx.control('refuse', { status: 403 });
  const rec = ctx.connect(H, ctx.wsUrl('echo'), { heartbeat: HB, reconnect: rc });
  const retries = await rec.waitCount('reconnecting', 5, { timeout: 6000 });
  assert(retries.every((r) => r.args[0].reason === 'network-error'), 'refusals are network errors to a browser');
  const stats = await ctx.stats();
  assert(stats.refused >= 5 && stats.accepted === 0, `stats ${JSON.stringify(stats)}`);
  assert(rec.events('open').length === 0, 'no open while refused');
  const since = rec.mark();
  await ctx.control('accept');
  // Firefox delays a new WebSocket to a host whose handshakes keep failing (its own backoff, as
  // RFC 6455 section 7.2.3 asks): after five refusals its next attempt can start seconds late.
  await rec.wait('open', { since, timeout: rc.maxDelay + 8000 });
  return { delays: checkSchedule(rec, rc, 0), refused: stats.refused };
}

/** 503 twice, then OK: exactly two retries, then open. */
export async function flakyUpgrade(H, ctx) {
  const rc = { initialDelay: 50, maxDelay: 400, factor: 2, jitter: 1 };
  const rec = ctx.connect(H, ctx.wsUrl('flaky', { fail: 2, status: 503 }), { heartbeat: HB, reconnect: rc });
  await rec.wait('open', { timeout: 5000 });
  const delays = checkSchedule(rec, rc, 0);
  assert(delays.length === 2, `retries ${delays}`);
  const stats = await ctx.stats();
  assert(stats.upgrades === 3 && stats.refused === 2 && stats.accepted === 1, `stats ${JSON.stringify(stats)}`);
  await echoes(rec, 'finally');
  return { delays };
}

/** close() while open, while waiting to retry, and while connecting: nothing happens afterwards. */
export async function closeStops(H, ctx) {
  const rc = { initialDelay: 100, maxDelay: 300, factor: 2, jitter: 1 };
  const keys = { open: `${ctx.key}-open`, waiting: `${ctx.key}-waiting`, connecting: `${ctx.key}-connecting` };
  // heartbeat.timeout is also each attempt's connect deadline: 1 s, so a loaded machine's slow
  // handshake is not a timeout and a retry.
  const opts = { heartbeat: echoHeartbeat(200, 1000), reconnect: rc };

  const a = ctx.connect(H, ctx.wsUrl('echo', {}, keys.open), opts);
  await a.wait('open');
  a.conn.close(1000, 'done');
  const closeA = a.events('close').at(-1)?.args[0];
  assert(closeA && !closeA.willReconnect && a.conn.state === 'closed', `close ${JSON.stringify(closeA)}`);
  assert(a.events('state').at(-1).args[1].reason === 'user-close', 'state reason user-close');
  let refused = null;
  try {
    a.conn.send('too late');
  } catch (err) {
    refused = err;
  }
  assert(H.isHeartlineError(refused) && refused.code === 'closed', 'send() after close() throws a closed error');

  await ctx.control('refuse', { status: 503 }, { keyOverride: keys.waiting });
  const b = ctx.connect(H, ctx.wsUrl('echo', {}, keys.waiting), opts);
  await b.wait('reconnecting');
  b.conn.close();
  const c = ctx.connect(H, ctx.wsUrl('echo', {}, keys.connecting), opts);
  assert(c.conn.state === 'connecting', `c.state ${c.conn.state}`);
  c.conn.close();
  const marks = [a, b, c].map((r) => r.mark()); // nothing may happen on any of them from here

  // A handshake already on the wire when close() ran (the browser sent it; the server has not
  // counted it yet) is not an attempt after close(): let those arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = await Promise.all(Object.values(keys).map((k) => ctx.stats(k)));
  await ctx.quietFor(3 * rc.maxDelay); // no event marks "nothing happened": wait 3 × maxDelay
  const after = await Promise.all(Object.values(keys).map((k) => ctx.stats(k)));
  // The 'connecting' key may count the one upgrade that was already on the wire when close() ran.
  [0, 1].forEach((i) => assert(after[i].upgrades === before[i].upgrades, `key ${i}: upgrades ${before[i].upgrades} → ${after[i].upgrades}`));
  // 'open' may have needed more than one upgrade (an attempt that missed its connect deadline on
  // a loaded machine is retried); what matters is none after close().
  assert(after[0].upgrades >= 1 && after[2].upgrades <= 1, `upgrades ${after.map((s) => s.upgrades)}`);
  [a, b, c].forEach((r, i) => assert(r.events(null, marks[i]).length === 0, `events after close() on #${i}`));
  assert(c.events('open').length === 0, 'closed while connecting, yet opened');
  return { upgrades: after.map((s) => s.upgrades) };
}
