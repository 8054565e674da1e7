import { AUTH, LATER, MAX_HINT, STOP, backoff, classifyClose } from './backoff.js';
import type { Connection, Events } from './connection.js';
import { createEmitter } from './emitter.js';
import { HeartlineError } from './errors.js';
import { MIN_LIFE, createHeartbeat } from './heartbeat.js';
import { END, LOST, OPEN, START, next } from './machine.js';
import type { Step } from './machine.js';
import { acked, createOutbox, flush as write } from './outbox.js';
import type { Options, Reason, TransportName, UrlSource } from './options.js';
import { publicApi } from './api.js';
import type { Handlers, TransportFactory } from './transports/types.js';
import { read, where } from './kernel.js';
import type { Core, Parts } from './kernel.js';

export type { Core, Parts } from './kernel.js';

/** A `whenHidden: 'close'` connection closes after the page has been hidden this long (ms). */
const HIDDEN_GRACE = 30000;

/**
 * A connection made of `parts` (see {@link Parts}): the state machine (machine.ts) and the
 * attempts, with the heartbeat, negotiation, fallback, outbox and uploads as modules around it.
 */
export const open = (url: UrlSource, options: Options, parts: Parts): Connection => {
  const [o, hb, rc] = read(options, parts);
  const closeHidden = o.whenHidden === 'close';
  const { emit, on } = createEmitter<Events>(['open', 'message', 'state', 'reconnecting', 'close', 'error', 'heartbeat'], o.logger);
  let timer: ReturnType<typeof setTimeout> | undefined; // the current state's one timer
  let attempt = 0; // retries since the last stable connection
  let authRetried = false; // the one retry with refreshed credentials has been spent
  let openedAt = 0;
  let hiddenAt = 0;

  const k: Core = {
    o,
    hb,
    state: 'closed',
    gen: 0,
    lastEventId: o.lastEventId || '',
    outbox: createOutbox(),
    hint: 0,
    setTimer(ms, f) {
      clearTimeout(timer);
      k.due = Date.now() + ms;
      timer = setTimeout(f, ms);
    },
    lost,
    fail,
    ready,
    deliver,
    restart,
    emit,
    call(f, ...args) {
      try {
        return f(...args);
      } catch (e) {
        threw(e);
      }
    },
  } as Core;
  // An app callback (an option, an upload's onProgress) that throws is reported like a throwing listener and disturbs nothing.
  const threw = (e: unknown): void => emit('error', new HeartlineError('listener', 'an option callback threw', e));
  // Upload frames go out only on an open protocol transport.
  if (parts.uploads) k.up = parts.uploads(() => (k.hl && k.state === 'open' ? k.current : undefined), threw);
  const beat = (k.beat = createHeartbeat(k, () => tick()));
  const p = parts.protocol && parts.protocol(k);
  const fb = parts.fallback && parts.fallback(k, parts.transports);

  /** The one place the state changes (the table is machine.ts's `next`): the state's timer goes with it. */
  const go = (step: Step, reason: Reason): void => {
    const previous = k.state;
    const state = next(previous, step);
    clearTimeout(timer);
    if (state !== previous) emit('state', (k.state = state), { previous, reason });
  };

  /** Forgets the current attempt or connection: its late events are ignored from now on. */
  const drop = (reason: string, code = 1000): boolean => {
    const had = !!k.current;
    k.gen++;
    clearTimeout(timer);
    beat.drop();
    if (p) p.drop();
    if (fb) fb.drop();
    if (k.up) k.up.pause();
    if (had) k.current!.close(code, reason);
    k.current = k.name = k.hl = undefined;
    k.outbox.w = 0; // nothing is written on a transport that is gone: all of the outbox waits again
    return had;
  };

  /** Gives up (a stop rule, or no way to connect); the outbox is kept for a later reconnect(). */
  function fail(reason: Reason, error: HeartlineError): void {
    drop(reason);
    api.detach();
    const g = k.gen;
    go(END, reason);
    // A state listener may have called reconnect(): then the uploads go on with the new attempt.
    if (k.up && g === k.gen) k.up.stop('closed', `the connection gave up (${reason})`);
    emit('error', error);
  }

  /** The attempt's handlers: every call from a stale attempt (another `gen`) is ignored. */
  const handlers = (g: number, f: TransportFactory, ask: boolean, credentials: unknown): Handlers => ({
    open: (announced) => g === k.gen && opened(f.name, ask && announced, credentials),
    data: (d) => g === k.gen && (beat.alive(), p ? p.data(d) : deliver(d)),
    event: (d, id, ev) => g === k.gen && (beat.alive(), p ? p.event(d, id, ev) : deliver(d, id, ev)),
    id: (id) => g === k.gen && (k.lastEventId = id),
    control: (frame) => !!p && g === k.gen && (beat.alive(), p.control(frame)),
    // The send channel's answer (`ack N`) proves nothing about the event stream's health.
    reply: (frame) => !!p && g === k.gen && p.control(frame),
    alive: () => g === k.gen && beat.alive(),
    close: (code, reason, clean, error, h) => g === k.gen && lost(clean ? 'server-close' : 'network-error', error, code, reason, clean, h),
  });

  /** One attempt: auth(), the URL, the transport's choice and its open, under one deadline. */
  const attemptOpen = async (): Promise<void> => {
    const g = ++k.gen;
    if (closeHidden && hiddenAt && Date.now() - hiddenAt >= HIDDEN_GRACE) return pause('hidden');
    const ms = hb ? hb.timeout : 10000;
    let authing = !!o.auth;
    k.setTimer(ms, () => lost('connect-timeout', authing ? new HeartlineError('auth', `auth() did not settle within ${ms} ms`) : undefined));
    let credentials: unknown;
    try {
      // A fresh call per attempt (a hung one is abandoned); always yields once, so nothing is emitted before connect() returns.
      credentials = await Promise.resolve().then(o.auth);
      authing = false;
    } catch (e) {
      if (g === k.gen) lost('auth-failed', new HeartlineError('auth', 'auth() failed', e));
      return;
    }
    try {
      const u = String(await (typeof url == 'function' ? url() : url));
      if (g !== k.gen) return; // close(), reconnect() or a newer attempt took over while we awaited
      const f = fb ? fb.choose(u) : parts.transports[0];
      if (!f) return;
      const target = await where(o, f, (k.base = u));
      if (g !== k.gen) return;
      const ask = !!p && p.ask(f, target);
      k.ctx = { url: target.href, o, lastEventId: k.lastEventId, session: k.session, credentials };
      if (fb) fb.opening(f);
      k.current = f.open(k.ctx, handlers(g, f, ask, credentials));
    } catch (e) {
      if (g === k.gen) fail('stop', new HeartlineError('connect', 'cannot connect (bad URL?)', e));
    }
  };

  /** The channel is up: a plain one is ready now; the protocol waits for its `welcome` (negotiate.ts). */
  const opened = (n: TransportName, announced: boolean | undefined, credentials: unknown): void => {
    k.name = n;
    if (fb) fb.opened(n);
    if (!p || announced === false) ready(false, credentials);
    else p.opened(announced, credentials);
  };

  /** The connection is usable: resend what the server has not acknowledged, then report open. */
  function ready(heartline: boolean, credentials?: unknown, resumed = false, asked = ''): void {
    const t = k.current!;
    k.hl = t.hl = heartline;
    beat.opened(heartline);
    openedAt = Date.now();
    if (fb) fb.ready();
    if (!heartline && credentials != null && k.name === 'websocket') {
      t.send(typeof credentials == 'string' ? credentials : JSON.stringify(credentials), 0);
    }
    k.outbox.w = 0;
    flush();
    go(OPEN, 'open');
    if (k.current !== t) return; // a state listener closed or reconnected
    if (k.up) heartline ? k.up.resume() : k.up.stop('protocol', 'uploads need a heartline protocol server');
    emit('open', { transport: k.name!, resumed, attempt });
    // Never a silent gap: the app asked to resume and the server could not.
    if (asked && !resumed && k.current === t) emit('error', new HeartlineError('gap', `the server could not resume after event ${asked}`, undefined, asked));
    if (k.current === t) tick();
  }

  /** Writes every outbox entry not yet written on this transport, in order. */
  const flush = (): void => {
    const b = k.outbox;
    write(b, k.current!.send);
    // A plain WebSocket acknowledges nothing: what it took is done.
    if (!k.hl && k.name === 'websocket' && b.w) acked(b, b[b.w - 1]![0]);
  };

  function deliver(data: unknown, id?: string, event = 'message'): void {
    if (id !== undefined) k.lastEventId = id;
    if (!k.hl && hb && hb.isPong && k.call(hb.isPong, data)) return;
    if (o.json && typeof data == 'string') {
      try {
        data = JSON.parse(data);
      } catch (e) {
        return emit('error', new HeartlineError('malformed', 'message is not JSON', e, data));
      }
    }
    emit('message', data, { id: k.lastEventId, event, transport: k.name! });
  }

  /** The current connection or attempt is gone: decide between falling back, retrying and stopping. */
  function lost(reason: Reason, error?: HeartlineError, code = 1006, text = '', wasClean = false, wait?: number): void {
    const now = Date.now();
    const was = !!openedAt; // it had opened
    const lived = now - openedAt;
    const had = drop(reason);
    const g = k.gen; // every emit below may run a listener that calls close() or reconnect(): then stop here
    const proven = beat.lost(was, reason, now);
    if (rc && was && (lived >= rc.stableAfter || (proven && lived >= MIN_LIFE))) (attempt = 0), (authRetried = false);
    openedAt = 0;
    const verdict = classifyClose(code);
    // A transport that never opened: try the next one at once (a proxy may block only WebSockets).
    const fallback = !!fb && fb.lost(had, was, verdict);
    let retry = fallback || (!!rc && attempt < rc.maxRetries && verdict !== STOP && !(verdict === AUTH && authRetried));
    const decide = rc && rc.shouldReconnect;
    if (decide && !fallback) {
      const d = k.call(decide, { attempt, reason, code, retry, error });
      if (d !== undefined) retry = d;
    }
    emit('close', { code, reason: text, wasClean, willReconnect: retry });
    if (g !== k.gen) return;
    if (fb) fb.move(fallback, was);
    if (fallback) {
      go(LOST, 'fallback');
      return void (g === k.gen && attemptOpen());
    }
    if (!retry) {
      const why: Reason = verdict === AUTH && authRetried ? 'auth-failed' : rc && attempt >= rc.maxRetries ? 'max-retries' : 'stop';
      return fail(why, error || new HeartlineError('connect', `gave up (${why}, code ${code})`, undefined, code));
    }
    if (verdict === AUTH) authRetried = true;
    let delay = Math.max(backoff(attempt++, rc!), Math.min(MAX_HINT, Math.max(k.hint, wait || 0)));
    k.hint = 0;
    if (verdict === LATER) delay = Math.min(MAX_HINT, Math.max(delay, rc!.initialDelay * 10));
    go(LOST, reason);
    if (g === k.gen && error) emit('error', error);
    if (g === k.gen) emit('reconnecting', { attempt, delay, reason, error });
    if (g === k.gen) k.setTimer(delay, attemptOpen);
  }

  /** The open state's timer: the hidden-page grace, the move back to WebSocket, then the heartbeat. */
  const tick = (): void => {
    const now = Date.now();
    if (beat.late(now)) return;
    if (closeHidden && hiddenAt) {
      return now - hiddenAt < HIDDEN_GRACE ? k.setTimer(hiddenAt + HIDDEN_GRACE - now, tick) : pause('hidden');
    }
    beat.judge(now, fb ? fb.check(now) : Infinity);
  };

  /** Closes without giving up: used for hidden pages and the back/forward cache. */
  const pause = (reason: Reason): void => {
    drop(reason);
    attempt = 0;
    go(END, reason);
  };

  const resume = (reason: Reason): void => {
    const g = k.gen;
    go(START, reason);
    if (g === k.gen) void attemptOpen(); // unless a state listener closed or reconnected
  };

  /** Drops the current attempt or connection (a clean close that will reconnect) and connects again now. */
  function restart(reason: Reason): void {
    const had = drop(reason);
    const g = k.gen;
    if (had) emit('close', { code: 1000, reason, wasClean: true, willReconnect: true });
    if (g === k.gen) resume(reason); // unless a close listener closed or reconnected
  }

  const api = publicApi(k, {
    on,
    drop,
    go,
    resume,
    restart,
    flush,
    reset: () => ((attempt = 0), (authRetried = false)),
    page(e) {
      if (e === 'hidden') {
        hiddenAt = Date.now();
        if (closeHidden && k.state === 'open') tick();
      } else if (e === 'pagehide') {
        pause(e);
      } else if (e === 'online' && k.state === 'reconnecting' && !k.current) {
        resume(e); // skip the rest of the backoff wait
      } else if (k.state === 'closed' && (e === 'pageshow' || e === 'visible')) {
        hiddenAt = attempt = 0;
        resume(e);
      } else {
        if (e === 'visible') hiddenAt = 0;
        beat.probe(e === 'offline' ? 'offline' : 'heartbeat-timeout');
      }
    },
  });
  api.init();
  return api.conn;
};
