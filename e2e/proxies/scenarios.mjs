// The browser scenarios behind each proxy (README.md in this directory): each one drives the page
// e2e/pages/proxy.html loaded through the proxy, measures, and fills `h.figures` and `h.failures`:
// every check that failed is listed, and the figures are kept either way (they are the numbers the
// closing note reports).

// The same lost/duplicated/reordered count as the in-page protocol scenarios (a browser module with no
// globals at import, so Node can load it too).
import { audit as count } from '../pages/scenarios/protocol.js';

/** Lost, duplicated and reordered against 1..total. */
export const audit = (values, total) => {
  const { lost, duplicated, reordered } = count(values, total);
  return { lost, duplicated, reordered };
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The test's handle on the page, the fixture server (directly, not through the proxy) and its key. */
export function harness({ page, server, proxy, key }) {
  const failures = [];
  const figures = {};
  const control = async (action, params = {}) => {
    const q = new URLSearchParams(params);
    const res = await fetch(`${server.url}control/${encodeURIComponent(key)}/${action}?${q}`, { method: 'POST' });
    return res.json();
  };
  let sent = 0;
  let published = 0;
  const h = {
    page,
    failures,
    figures,
    control,
    check(ok, message) {
      if (!ok) failures.push(message);
      return ok;
    },
    /** The protocol route through the proxy; echo=0: the log holds only what the test publishes. */
    url: (params = {}) => `${proxy.url}hl/s?${new URLSearchParams({ key, echo: '0', ...params })}`,
    start: (url, options) => page.evaluate(([u, o]) => window.__proxy.start(u, o), [url, options]),
    state: () => page.evaluate(() => window.__proxy.state()),
    record: () => page.evaluate(() => window.__proxy.record()),
    mark: (name) => page.evaluate((n) => window.__proxy.mark(n), name),
    disconnected: (from, to) => page.evaluate(([f, t]) => window.__proxy.disconnected(f, t), [from, to]),
    /** Resolves with the page's time once `fn(record, state, arg)` (run in the page) holds; null on timeout. */
    async until(fn, timeout, arg) {
      try {
        const handle = await page.waitForFunction(
          ([src, a]) => {
            const p = window.__proxy;
            // eslint-disable-next-line no-new-func
            const test = new Function(`return (${src})`)();
            return test(p.record(), p.state(), a) ? p.state().t : null;
          },
          [fn.toString(), arg],
          { timeout, polling: 50 },
        );
        return await handle.jsonValue();
      } catch (err) {
        if (/Timeout/i.test(err.message)) return null;
        throw err;
      }
    },
    /** The page sends the next numbered message only (e.g. while the server is down: it is queued). */
    sendOnly: () => page.evaluate((t) => window.__proxy.send(t), `c${++sent}`),
    /** n numbered messages each way: the page sends `c<i>`, the server publishes `s<i>`. */
    async exchange(n) {
      for (let i = 0; i < n; i++) {
        await h.sendOnly();
        await control('publish', { data: `s${++published}` });
      }
    },
    /** Wait (up to `timeout`) for everything exchanged so far, then count lost/duplicated/reordered both ways. */
    async audit(timeout = 15000) {
      await h.until((rec, st, want) => rec.received.some((m) => m.d === want), timeout, `s${published}`);
      await control('wait', { delivered: String(sent), timeout: String(Math.min(timeout, 30000)) });
      const rec = await h.record();
      const stats = await control('stats');
      const down = audit(rec.received.filter((m) => m.d.startsWith('s')).map((m) => Number(m.d.slice(1))), published);
      const up = audit(stats.delivered.map((d) => Number(String(d).slice(1))), sent);
      figures.messages = { sent, published, serverToPage: down, pageToServer: up, serverDroppedDuplicates: stats.duplicates };
      h.check(down.lost + down.duplicated + down.reordered === 0, `server→page ${JSON.stringify(down)} of ${published}`);
      h.check(up.lost + up.duplicated + up.reordered === 0, `page→server ${JSON.stringify(up)} of ${sent}`);
    },
    count: (rec, type, from = 0, to = Infinity) => rec.events.filter((e) => e.type === type && e.t >= from && e.t <= to).length,
  };
  return h;
}

const opened = (h, timeout, after = -1) => h.until((rec, st, t) => rec.events.some((e) => e.type === 'open' && e.t > t), timeout, after);

/**
 * (a) nginx default: the WebSocket upgrade is not forwarded, so the page must fall back within ~3 s
 * of connect(), and get the first server event with it (case 15: ~10 s). nginx buffers a response
 * (headers too) unless the upstream says `X-Accel-Buffering: no`, which heartline/server does on
 * its event streams: SSE then gets through (behind a server without it, SSE is buffered and the
 * page ends on long-polling; e2e's proto-fallback-buffer covers that path).
 */
export async function fallback(h) {
  await h.start(h.url(), {});
  // The server publishes `p<i>` every 200 ms from connect() on (a new client gets what follows its
  // first connection): the first one the page receives is "the first server event".
  let ticks = 0;
  let ticking = true;
  const ticker = (async () => {
    while (ticking && ticks < 150) await Promise.all([h.control('publish', { data: `p${++ticks}` }), sleep(200)]);
  })();
  const openMs = await opened(h, 20000);
  const first = await h.until((rec) => rec.received.some((m) => m.d.startsWith('p')), 20000);
  ticking = false;
  await ticker;
  const rec = await h.record();
  const open = rec.events.find((e) => e.type === 'open');
  Object.assign(h.figures, { openMs, firstEventMs: first, transport: open?.transport ?? null, errors: h.count(rec, 'error') });
  h.check(openMs !== null && openMs <= 3000, `open after ${openMs ?? '> 20000'} ms (want <= 3000)`);
  h.check(first !== null && first <= 3000, `first server event after ${first ?? '> 20000'} ms (want <= 3000)`);
  h.check(open?.transport === 'sse', `transport ${open?.transport} (want sse: heartline/server's X-Accel-Buffering: no unbuffers it)`);
  await h.exchange(20);
  await h.audit();
}

/**
 * (b), (c): the proxy cuts idle connections after 5 s; the default heartbeats (the client's and the
 * server's) beat every 25 s. Over
 * 40 s of idle the page must never sit disconnected for long (case 16: delays climbed towards
 * maxDelay, 23 s at once). Case 16 is a cut just under `stableAfter`: with the default 5000 the 5 s
 * cut races the stableAfter timer (the attempt counter resets in some runs, not in others), so the
 * page sets `stableAfter: 6000` to make every cut land under it, as in the field.
 */
export async function idleCuts(h, { idleMs = 40000 } = {}) {
  // hb=25000 (the fixture's default too, stated here because the case depends on it):
  // heartline/server's pings, like the client's, come every 25 s, so the proxy's 5 s idle cut happens.
  await h.start(h.url({ hb: '25000' }), { reconnect: { stableAfter: 6000 } });
  h.check((await opened(h, 10000)) !== null, 'never opened');
  await h.exchange(10);
  const from = await h.mark('idle');
  await sleep(idleMs);
  const to = await h.mark('idle-end');
  const d = await h.disconnected(from, to);
  const rec = await h.record();
  const idle = rec.events.filter((e) => e.type === 'reconnecting' && e.t >= from && e.t <= to);
  const slowest = Math.max(0, ...idle.map((e) => e.delay));
  Object.assign(h.figures, {
    idleMs: to - from,
    longestDisconnectedMs: d.longest,
    totalDisconnectedMs: d.total,
    disconnections: d.count,
    reconnects: idle.map((e) => `#${e.attempt} ${Math.round(e.delay)} ms`),
    opens: h.count(rec, 'open', from, to),
    errors: h.count(rec, 'error', from, to),
    transportAtEnd: (await h.state()).transport,
  });
  h.check(d.longest < 3000, `longest disconnected stretch ${d.longest} ms of ${to - from} ms idle (want < 3000)`);
  // A cut of a connection that was open and working is not a failed attempt: the schedule starts
  // over (the first delay is at most initialDelay, 500 ms; 1000 ms leaves room for a second try).
  h.check(slowest <= 1000, `reconnect delays after idle cuts climbed to ${Math.round(slowest)} ms (want <= 1000)`);
  await h.until((rec, st) => st.state === 'open', 35000);
  await h.exchange(10);
  await h.audit();
}

/**
 * (b), (c): a server restart of `downMs`, `times` times: each time the connection must be open on
 * WebSocket within `settleMs` of the server's return (case 12: behind nginx 19 of 24 outages ended
 * on SSE or long-polling, for up to upgradeAfter = 5 min). `reconnect.maxDelay` 2000 keeps the
 * backoff (random, growing during the outage) from deciding the outcome.
 */
export async function restarts(h, server, { times = 5, downMs = 6000, settleMs = 8000 } = {}) {
  await h.start(h.url(), { reconnect: { maxDelay: 2000 } });
  h.check((await opened(h, 10000)) !== null, 'never opened');
  await h.exchange(5);
  const ended = [];
  for (let i = 0; i < times; i++) {
    await h.exchange(2); // some of these may still be in flight when the server goes down
    const restarting = server.restart(downMs);
    await sleep(200);
    await h.sendOnly(); // while the server is down: queued or unacknowledged
    await restarting;
    const up = await h.mark(`up-${i}`);
    const onWs = await h.until((rec, st) => st.state === 'open' && st.transport === 'websocket', settleMs);
    const rec = await h.record();
    const first = rec.events.find((e) => e.type === 'open' && e.t > up);
    const st = await h.state();
    ended.push({
      firstOpen: first ? `${first.transport} after ${first.t - up} ms` : null,
      atSettle: st.state === 'open' ? st.transport : st.state,
    });
    if (onWs === null) await h.until((r, s) => s.state === 'open', 15000);
  }
  const rec = await h.record();
  const onWs = ended.filter((e) => e.atSettle === 'websocket').length;
  Object.assign(h.figures, { outages: times, downMs, endedOnWebsocket: onWs, ended, errors: h.count(rec, 'error') });
  h.check(onWs === times, `${onWs} of ${times} outages ended on websocket within ${settleMs} ms of the server's return`);
  await h.exchange(5);
  await h.audit(20000);
}

/**
 * (b), (c): long-polling when the proxy's timeout (5 s) is shorter than the server's hold (25 s):
 * every idle poll ends in a 504. Target: no `error` event and no reconnect (case 17: ~11 a minute).
 */
export async function longpollIdle(h, { idleMs = 30000 } = {}) {
  await h.start(h.url(), { transports: ['longpoll'] });
  h.check((await opened(h, 10000)) !== null, 'never opened');
  await h.exchange(5);
  const from = await h.mark('idle');
  await sleep(idleMs);
  const to = await h.mark('idle-end');
  const rec = await h.record();
  const d = await h.disconnected(from, to);
  const perMin = (n) => Math.round((n * 600000) / (to - from)) / 10;
  const errors = h.count(rec, 'error', from, to);
  const reconnects = h.count(rec, 'reconnecting', from, to);
  Object.assign(h.figures, {
    idleMs: to - from,
    errors,
    reconnects,
    errorsPerMinute: perMin(errors),
    reconnectsPerMinute: perMin(reconnects),
    errorCodes: [...new Set(rec.events.filter((e) => e.type === 'error' && e.t >= from).map((e) => e.code))],
    longestDisconnectedMs: d.longest,
  });
  h.check(reconnects === 0, `${reconnects} reconnects in ${to - from} ms of idle (${perMin(reconnects)}/min; want 0)`);
  h.check(errors === 0, `${errors} error events in ${to - from} ms of idle (${perMin(errors)}/min; want 0)`);
  await h.until((rec, st) => st.state === 'open', 15000);
  await h.exchange(5);
  await h.audit();
}

/**
 * (b), (c): WebSocket handshakes the proxy answers with an error status must reach the app as
 * `error` events (case 18: none). Phase 1: the upstream is down for 4 s (nginx answers 502,
 * HAProxy 503). Phase 2: the upstream answers 3 handshakes with 504, passed through the proxy.
 */
export async function handshakeErrors(h, server, proxy) {
  await h.start(h.url(), { transports: ['websocket'], reconnect: { initialDelay: 200, maxDelay: 1000 } });
  h.check((await opened(h, 10000)) !== null, 'never opened');
  await h.exchange(3);
  const log0 = proxy.accessLog().length;
  const t1 = await h.mark('down');
  await server.restart(4000);
  await opened(h, 10000, t1);
  const t3 = await h.mark('refuse');
  await h.control('refuse', { status: '504', count: '3' });
  await h.control('drop', { code: '1012' });
  await opened(h, 15000, t3);
  const rec = await h.record();
  const log = proxy.accessLog().slice(log0);
  const status = (s) => (log.match(new RegExp(`"GET /hl/[^"]*" ${s} `, 'g')) ?? []).length;
  // From the cut to the next open: every reconnect after the first (the cut itself) is a failed handshake.
  const phase = (from) => {
    const to = rec.events.find((e) => e.type === 'open' && e.t > from)?.t ?? Infinity;
    return { failedHandshakes: Math.max(0, h.count(rec, 'reconnecting', from, to) - 1), errors: h.count(rec, 'error', from, to) };
  };
  const outage = { ...phase(t1), ...(proxy.name === 'nginx' ? { proxy502s: status(502) } : {}) };
  const refused = { ...phase(t3), fixture504s: (await h.control('stats')).refused };
  const codes = [...new Set(rec.events.filter((e) => e.type === 'error').map((e) => e.code))];
  Object.assign(h.figures, { outage, refused504: refused, errorCodes: codes });
  h.check(outage.errors >= 1, `${outage.failedHandshakes} handshakes failed in a 4 s outage, ${outage.errors} error events (want >= 1)`);
  h.check(refused.errors >= 1, `${refused.failedHandshakes} handshakes answered 504, ${refused.errors} error events (want >= 1)`);
  await h.exchange(3);
  await h.audit();
}
