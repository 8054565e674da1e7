import { AUTH, LATER, MAX_HINT, RETRY, STOP, backoff, classifyClose } from './backoff.js';
import { createEmitter } from './emitter.js';
import { FULL } from './flags.js';
import { HeartlineError, OptionError, QueueOverflowError, UploadError } from './errors.js';
import { watchLifecycle } from './lifecycle.js';
import type { LifecycleEvent } from './lifecycle.js';
import { resolveHeartbeat, resolveReconnect, validate } from './options.js';
import type { Data, Options, Reason, State, TransportName, UrlSource } from './options.js';
import { field, parseFrame } from './protocol.js';
import { longpoll } from './transports/longpoll.js';
import { sse } from './transports/sse.js';
import type { Context, Transport, TransportFactory } from './transports/types.js';
import { websocket } from './transports/websocket.js';
import { createUploads } from './upload.js';
import type { UploadOptions, UploadResult } from './upload.js';

/** Listener signatures, by event type. */
export interface Events {
  open: (info: { transport: TransportName; resumed: boolean; attempt: number }) => void;
  message: (data: any, meta: { id: string; event: string; transport: TransportName }) => void;
  state: (state: State, info: { previous: State; reason: Reason }) => void;
  reconnecting: (info: { attempt: number; delay: number; reason: Reason; error?: HeartlineError | undefined }) => void;
  close: (info: { code: number; reason: string; wasClean: boolean; willReconnect: boolean }) => void;
  error: (error: HeartlineError) => void;
  /** A heartbeat was answered: `rtt` is the ms from the ping to the first inbound frame after it. */
  heartbeat: (info: { rtt: number }) => void;
}

export interface Connection {
  readonly state: State;
  /** The open transport, or undefined while none is open. */
  readonly transport: TransportName | undefined;
  /** The last event id the server named ('' until then); carried into every reconnection. */
  readonly lastEventId: string;
  /** Writes now when open, else queues (bounded); throws a HeartlineError after close(). */
  send(data: unknown): void;
  /**
   * Like send(), and resolves once the server acknowledged the message (heartline protocol), the
   * HTTP request carrying it succeeded (plain HTTP transports) or it was written (plain WebSocket).
   * Rejects with a HeartlineError when it is dropped (close(), queue overflow).
   */
  sendWithAck(data: unknown): Promise<void>;
  /**
   * Uploads a File or Blob in chunks (PROTOCOL.md section 7), over the open transport, resuming
   * from the server's acknowledged offset after every reconnect. Resolves with the server's
   * result; rejects with an {@link UploadError} (its `reason` says why). Needs a protocol server.
   */
  upload(blob: Blob, options?: UploadOptions): Promise<UploadResult>;
  /** Drops the current attempt or connection and connects again now, backoff reset. Also restarts a closed connection. */
  reconnect(): void;
  /** Final: no more reconnects; unsent and unacknowledged messages are reported through `error`. code: 1000 or 3000-4999. */
  close(code?: number, reason?: string): void;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events>(type: K, listener: Events[K]): () => void;
}

/** A `whenHidden: 'close'` connection closes after the page has been hidden this long (ms). */
const HIDDEN_GRACE = 30000;
/** The longest a probe (wake-up, visibility, online/offline) or a `welcome` is waited for (ms). */
const PROBE = 5000;
/** The longest the server's first protocol frame is waited for (ms): a silent server is plain. */
const WELCOME = 2000;
/** A timer that fires this much later than scheduled means the tab was frozen or the machine slept (ms). */
const LATE = 2000;
const ALL: TransportFactory[] = FULL ? [websocket, sse, longpoll] : [websocket];
/** sessionStorage key prefix marking a URL whose WebSocket server turned out to be plain. */
const plainKey = 'heartline:plain:';

/** One outgoing message: [seq, data, resolve, reject] until acknowledged. */
type Entry = [number, Data, (() => void) | undefined, ((e: HeartlineError) => void) | undefined];

const isBinary = (d: unknown): d is Data =>
  d instanceof ArrayBuffer || ArrayBuffer.isView(d) || (typeof Blob == 'function' && d instanceof Blob);

/** Reads or writes the page session's memory of the transport that works (it throws in sandboxed frames). */
const remember = (key: string, value?: string): unknown => {
  try {
    const s = (globalThis as { sessionStorage?: Storage }).sessionStorage;
    return s && (value ? s.setItem(key, value) : s.getItem(key));
  } catch {
    return undefined;
  }
};

/**
 * Opens a connection that keeps itself alive: it reconnects with jittered backoff, checks liveness
 * with wall-clock heartbeat deadlines, queues sends while down, falls back from WebSocket to SSE to
 * long-polling, resumes with the last event id and reacts to the page lifecycle.
 * Throws {@link OptionError} synchronously for invalid options.
 */
export const connect = (url: UrlSource, options: Options = {}): Connection => {
  validate(options);
  const o = options;
  const hb = resolveHeartbeat(o.heartbeat);
  const rc = resolveReconnect(o.reconnect);
  const { limit = 1000, overflow = 'drop-oldest' } = o.queue || {};
  const { signal } = o;
  const endpoints = o.endpoints || {};
  const closeHidden = o.whenHidden === 'close';
  const waitOpen = hb ? Math.min(hb.timeout, WELCOME) : WELCOME;
  const { upgradeAfter = 300000 } = o;
  const { emit, on } = createEmitter<Events>(
    ['open', 'message', 'state', 'reconnecting', 'close', 'error', 'heartbeat'],
    o.logger,
  );

  let state: State = 'closed';
  let current: Transport | undefined; // the one live transport; undefined while none is open or opening
  let name: TransportName | undefined; // set once `current` is open
  let hl: boolean | undefined; // heartline protocol on the current transport; undefined while negotiating
  let ctx: Context | undefined;
  let gen = 0; // bumped whenever an attempt or connection is discarded; stale callbacks compare it
  let attempt = 0; // retries since the last stable connection
  let authRetried = false; // the one retry with refreshed credentials has been spent
  let timer: ReturnType<typeof setTimeout> | undefined; // the one timer: deadlines, heartbeat or backoff
  let due = 0; // when `timer` should fire, wall clock
  let openedAt = 0;
  let last = 0; // last inbound traffic, wall clock
  let pingAt = 0; // when the unanswered ping went out; 0 = none outstanding
  let pongBy = 0;
  let pings = 0;
  let why: Reason = 'heartbeat-timeout'; // what an unanswered ping will be blamed on
  let woke = false; // the last tick was late and turned into a probe
  let hiddenAt = 0;
  let started = false; // lazy connections start on first use
  let stopped = false; // close() was called: send() refuses
  let unwatch: (() => void) | undefined;
  let authInFlight: Promise<unknown> | undefined;
  let lastEventId = o.lastEventId || '';
  let session: string | undefined;
  let hint = 0; // the server's `retry` hint, for the next delay
  let pick = -1; // index of the transport to try next; -1: the remembered one, or the first
  let fallbacks = 0; // transports tried in a row without one opening
  let usable = 1; // how many transports this URL and runtime offer
  let upgradable = false; // open on a fallback while WebSocket comes first
  let scoutedAt = 0; // when WebSocket was last checked in the background (or the fallback opened)
  let scout: Transport | undefined; // that background WebSocket, until it answers or fails
  let scoutTimer: ReturnType<typeof setTimeout> | undefined;
  let base = ''; // the URL the current attempt resolved, before any per-transport endpoint
  let bin: [string | undefined, string] | undefined; // a `bin` header waiting for its binary frame
  let seq = 0;
  let written = 0; // outbox entries written on the current transport
  const outbox: Entry[] = [];
  // Upload frames may go out only on an open protocol transport.
  // heartline/ws has no uploads: every use below is behind FULL.
  // An onProgress that throws is reported like a throwing listener and disturbs nothing.
  const uploads = FULL
    ? createUploads(
        () => (hl && state === 'open' ? current : undefined),
        (e) => emit('error', new HeartlineError('listener', 'an upload onProgress callback threw', e)),
      )
    : (0 as never);

  const transition = (next: State, reason: Reason): void => {
    const previous = state;
    if (next !== previous) emit('state', (state = next), { previous, reason });
  };

  const setTimer = (ms: number, f: () => void): void => {
    clearTimeout(timer);
    due = Date.now() + ms;
    timer = setTimeout(f, ms);
  };

  /** Forgets the current attempt or connection: its late events are ignored from now on. */
  const drop = (reason: string, code = 1000): boolean => {
    const had = !!current;
    gen++;
    clearTimeout(timer);
    pingAt = 0;
    bin = undefined;
    if (FULL) unscout(), uploads.pause();
    current?.close(code, reason);
    current = name = hl = undefined;
    return had;
  };

  /** Stops watching the page and the signal: after this only reconnect() brings the connection back. */
  const detach = (): void => {
    unwatch?.();
    unwatch = undefined;
    if (signal) signal.removeEventListener('abort', onAbort);
  };

  /** Gives up (a stop rule, or no way to connect); the outbox is kept for a later reconnect(). */
  const fail = (reason: Reason, error: HeartlineError): void => {
    drop(reason);
    detach();
    transition('closed', reason);
    if (FULL) uploads.stop('closed', `the connection gave up (${reason})`);
    emit('error', error);
  };

  // Concurrent attempts share one auth() call; its result is used by the attempt that asked.
  const authorize = (): Promise<unknown> =>
    authInFlight || (authInFlight = Promise.resolve().then(o.auth).finally(() => (authInFlight = undefined)));

  const attemptOpen = async (): Promise<void> => {
    const g = ++gen;
    if (closeHidden && hiddenAt && Date.now() - hiddenAt >= HIDDEN_GRACE) return pause('hidden');
    let credentials: unknown;
    try {
      // Always yields once, so nothing is emitted before connect() has returned.
      credentials = await (o.auth && authorize());
    } catch (e) {
      if (g === gen) lost('auth-failed', 1006, '', false, new HeartlineError('auth', 'auth() failed', e));
      return;
    }
    try {
      const u = String(await (typeof url == 'function' ? url() : url));
      if (g !== gen) return; // close(), reconnect() or a newer attempt took over while we awaited
      let f: TransportFactory | undefined = websocket;
      const key = 'heartline:' + u;
      if (FULL) {
        const names = o.transports || (/^wss?:/.test(u) ? ['websocket'] : ['websocket', 'sse', 'longpoll']);
        const list = names.map((n) => ALL.find((t) => t.name === n)!).filter((t) => t.supported(o));
        if (pick < 0) pick = Math.max(0, list.findIndex((t) => t.name === remember(key)));
        f = list[pick % list.length];
        usable = list.length;
        upgradable = f !== list[0] && list[0] === websocket;
        if (!f) return fail('stop', new HeartlineError('connect', `no usable transport in ${names}`));
      }
      const target = await where(f, (base = u));
      if (g !== gen) return;
      // Keyed without the query, which may carry a fresh token on every attempt.
      const plain = FULL ? plainKey + target.origin + target.pathname : '';
      const ask = FULL && o.protocol !== 'plain' && !remember(plain);
      if (f === websocket && ask) target.searchParams.set('heartline', '1');
      ctx = { url: target.href, o, lastEventId, session, credentials };
      setTimer(hb ? hb.timeout : 10000, () => lost('connect-timeout'));
      const t = (current = f.open(ctx, {
        open: (announced) => g === gen && opened(f!.name, ask && announced, key, plain, credentials),
        data: (d) => g === gen && received(d),
        event: (d, id, ev) => g === gen && (alive(), FULL && hl === undefined ? negotiate(d, id, ev) : deliver(d, id, ev)),
        id: (id) => g === gen && (lastEventId = id),
        control: (frame) => FULL && g === gen && (alive(), control(frame)),
        // The send channel's answer (`ack N`) proves nothing about the event stream's health.
        reply: (frame) => FULL && g === gen && control(frame),
        alive: () => g === gen && alive(),
        close: (code, reason, clean, error, h) =>
          g === gen && lost(clean ? 'server-close' : 'network-error', code, reason, clean, error, h),
      }));
    } catch (e) {
      if (g === gen) fail('stop', new HeartlineError('connect', 'cannot connect (bad URL?)', e));
    }
  };

  /** The URL of transport `f`: its endpoint, or `u` with http(s) and ws(s) switched as needed. */
  const where = async (f: TransportFactory, u: string): Promise<URL> => {
    const src = endpoints[f.name] || u;
    const page = (globalThis as { location?: { href: string } }).location;
    const target = new URL(String(await (typeof src == 'function' ? src() : src)), page && page.href);
    target.protocol = target.protocol.replace(f === websocket ? 'http' : 'ws', f === websocket ? 'ws' : 'http');
    return target;
  };

  const unscout = (): void => {
    clearTimeout(scoutTimer);
    if (scout) scout.close(1000, 'probe');
    scout = undefined;
  };

  /**
   * On a fallback transport: opens a WebSocket on the side, leaving the open transport alone. A
   * protocol server greets it with `welcome` unprompted; only then is the fallback dropped and
   * WebSocket connected for real, resuming the session (PROTOCOL.md section 4: nothing is lost or
   * doubled). A failure or silence just closes the side socket; the check repeats `upgradeAfter` later.
   */
  const scoutWebSocket = async (): Promise<void> => {
    const g = gen;
    scoutedAt = Date.now();
    const end = (works: boolean): void => {
      unscout();
      if (works && g === gen) {
        pick = 0;
        drop('upgrade');
        emit('close', { code: 1000, reason: 'upgrade', wasClean: true, willReconnect: true });
        resume('upgrade');
      }
    };
    try {
      const target = await where(websocket, base);
      if (g !== gen || scout) return;
      target.searchParams.set('heartline', '1');
      const nop = (): void => {};
      scoutTimer = setTimeout(end, waitOpen, false);
      scout = websocket.open({ ...ctx!, url: target.href }, {
        open: nop,
        data: (d) => end(typeof d == 'string' && d.startsWith('welcome ')),
        event: nop,
        control: nop,
        reply: nop,
        alive: nop,
        close: () => end(false),
      });
    } catch {
      unscout(); // a URL function that threw: stay on the fallback
    }
  };

  /**
   * The channel is up. A protocol server speaks first (`welcome`); a WebSocket server that is
   * silent until the deadline is plain, and remembered as such for the page session, so only the
   * first connection to it waits. An HTTP server that announced the protocol but sends no
   * welcome sits behind a buffering proxy: that attempt fails and the next transport is tried.
   */
  const opened = (n: TransportName, announced: boolean | undefined, key: string, plain: string, credentials: unknown): void => {
    name = n;
    if (FULL) remember(key, n);
    if (!FULL || announced === false) return ready(false, credentials);
    setTimer(waitOpen, () => (announced ? lost('connect-timeout') : (remember(plain, '1'), ready(false, credentials))));
  };

  /** The connection is usable: resend what the server has not acknowledged, then report open. */
  const ready = (heartline: boolean, credentials?: unknown, resumed = false): void => {
    const t = current!;
    clearTimeout(timer);
    hl = t.hl = heartline;
    openedAt = last = scoutedAt = Date.now();
    pingAt = 0;
    fallbacks = 0;
    if (!heartline && credentials != null && name === 'websocket') {
      t.send(typeof credentials == 'string' ? credentials : JSON.stringify(credentials), 0);
    }
    written = 0;
    flush();
    transition('open', 'open');
    if (FULL) heartline ? uploads.resume() : uploads.stop('protocol', 'uploads need a heartline protocol server');
    emit('open', { transport: name!, resumed, attempt });
    if (current === t) tick();
  };

  /** Writes every outbox entry not yet written on this transport, in order. */
  const flush = (): void => {
    const t = current!;
    while (written < outbox.length && t.send(outbox[written]![1], outbox[written]![0])) written++;
    // A plain WebSocket acknowledges nothing: what it took is done.
    if (!hl && name === 'websocket' && written) acked(outbox[written - 1]![0]);
  };

  /** An acknowledgement from the server: one beyond what was sent is a lie, and loses nothing. */
  const ack = (n: number, frame: string): boolean =>
    n >= 0 && n <= seq
      ? (acked(n), true)
      : (lost('network-error', 1002, 'bad ack', false, new HeartlineError('malformed', `ack ${n} but only ${seq} sent`, undefined, frame)), false);

  const acked = (n: number): void => {
    let k = 0;
    for (let e; (e = outbox[k]) && e[0] <= n; k++) if (e[2]) e[2]();
    outbox.splice(0, k);
    written = Math.max(0, written - k);
  };

  const alive = (): void => {
    const now = (last = Date.now());
    if (pingAt) {
      emit('heartbeat', { rtt: now - pingAt });
      pingAt = 0;
      setTimer(hb!.interval, tick); // the next ping is due `interval` after this answer, not at the old deadline
    }
  };

  /** A WebSocket frame: decoded by the protocol once a `welcome` confirmed it. */
  const received = (data: unknown): void => {
    alive();
    if (typeof data != 'string') {
      const b = FULL && bin;
      bin = undefined;
      return b ? deliver(data, b[0], b[1]) : FULL && hl === undefined ? negotiate(data) : deliver(data);
    }
    if (FULL && hl) {
      const f = parseFrame(data);
      if (f.type !== 'msg' && f.type !== 'bin') return control(data);
      const id = field(f.fields[0]);
      const ev = field(f.fields[1]) || 'message';
      return f.type === 'bin' ? void (bin = [id, ev]) : deliver(f.payload || '', id, ev);
    }
    if (!FULL || hl === false) return deliver(data);
    negotiate(data);
  };

  /** A frame while negotiating: `welcome`/`ready` continue it, anything else means a plain server. */
  const negotiate = (data: unknown, id?: string, ev?: string): void => {
    if (typeof data == 'string' && /^(welcome|ready) \{/.test(data)) return control(data);
    ready(false, ctx!.credentials);
    deliver(data, id, ev);
  };

  const deliver = (data: unknown, id?: string, event = 'message'): void => {
    if (id !== undefined) lastEventId = id;
    if (!hl && hb && hb.isPong && hb.isPong(data)) return;
    if (o.json && typeof data == 'string') {
      try {
        data = JSON.parse(data);
      } catch (e) {
        return emit('error', new HeartlineError('malformed', 'message is not JSON', e, data));
      }
    }
    emit('message', data, { id: lastEventId, event, transport: name! });
  };

  /** A heartline control frame (PROTOCOL.md section 2). Malformed ones are reported, not thrown. */
  const control = (frame: string): void => {
    const { type, fields, rest } = parseFrame(frame);
    const n = +fields[0]!;
    if (type.startsWith('up.')) return uploads.frame(type, fields, rest, frame);
    if (type === 'welcome' && name === 'websocket') {
      // The server speaks first; the WebSocket hello carries what HTTP requests carry in headers.
      current!.control(`hello ${JSON.stringify({ v: 1, session, lastEventId, auth: ctx!.credentials })}`);
      setTimer(waitOpen, () => lost('connect-timeout'));
    } else if (type === 'welcome' || type === 'ready') {
      let w: { session?: unknown; ack?: unknown; resumed?: unknown };
      try {
        w = JSON.parse(rest);
      } catch (e) {
        return lost('network-error', 1002, 'bad welcome', false, new HeartlineError('malformed', `${type} is not JSON`, e, frame));
      }
      if (w.session !== session) {
        // A new session knows none of our sequence numbers: renumber what is still unacknowledged.
        session = ctx!.session = typeof w.session == 'string' ? w.session : undefined;
        seq = 0;
        for (const e of outbox) e[0] = ++seq;
      } else if (!ack(+(w.ack || 0), frame)) return;
      ready(true, undefined, w.resumed === true);
    } else if (type === 'ack') ack(n, frame); else if (type === 'ping') current?.control(`pong ${fields[0]}`);
    else if (type === 'retry') hint = n || 0; // clamped where it is used
    else if (type === 'close') lost('server-close', n || 1000, field(fields[1]) || '', true);
  };

  /** The current connection or attempt is gone: decide between falling back, retrying and stopping. */
  function lost(reason: Reason, code = 1006, text = '', wasClean = false, error?: HeartlineError, wait?: number): void {
    const neverOpened = !openedAt;
    drop(reason);
    if (rc && openedAt && Date.now() - openedAt >= rc.stableAfter) (attempt = 0), (authRetried = false);
    openedAt = 0;
    const verdict = classifyClose(code);
    // A transport that never opened: try the next one at once (a proxy may block only WebSockets).
    const fallback = FULL && neverOpened && verdict === RETRY && ++fallbacks < usable && reason !== 'auth-failed';
    let retry = fallback || (!!rc && attempt < rc.maxRetries && verdict !== STOP && !(verdict === AUTH && authRetried));
    const decide = rc && rc.shouldReconnect;
    if (decide && !fallback) {
      const d = decide({ attempt, reason, code, retry, error });
      if (d !== undefined) retry = d;
    }
    emit('close', { code, reason: text, wasClean, willReconnect: retry });
    if (fallback) {
      pick++;
      transition('reconnecting', 'fallback');
      return void attemptOpen();
    }
    fallbacks = 0;
    if (!retry) {
      const stopWhy: Reason =
        verdict === AUTH && authRetried ? 'auth-failed' : rc && attempt >= rc.maxRetries ? 'max-retries' : 'stop';
      return fail(stopWhy, error || new HeartlineError('connect', `gave up (${stopWhy}, code ${code})`, undefined, code));
    }
    if (verdict === AUTH) authRetried = true;
    let delay = Math.max(backoff(attempt++, rc!), Math.min(MAX_HINT, Math.max(hint, wait || 0)));
    hint = 0;
    if (verdict === LATER) delay = Math.min(MAX_HINT, Math.max(delay, rc!.initialDelay * 10));
    transition('reconnecting', reason);
    if (error) emit('error', error);
    emit('reconnecting', { attempt, delay, reason, error });
    setTimer(delay, attemptOpen);
  }

  /** Pings go as protocol frames, or as the app's message over a plain WebSocket; otherwise silence is watched. */
  const canPing = (): boolean => (FULL && !!hl) || (!!hb!.message && name === 'websocket');

  const ping = (ms: number, blame: Reason): void => {
    const m = hb!.message!;
    pingAt = Date.now();
    pongBy = pingAt + ms;
    why = blame;
    if (FULL && hl) current!.control(`ping ${++pings}`);
    else if (m) current!.send(typeof m == 'function' ? m() : m, 0);
    setTimer(ms, tick);
  };

  /** Asks the server for a sign of life now, with a short deadline. */
  const probe = (blame: Reason): void => {
    if (state !== 'open' || !hb) return;
    if (canPing()) ping(Math.min(hb.timeout, PROBE), blame);
    else setTimer(Math.min(hb.timeout, PROBE), tick); // silence-only: re-judge once in-flight frames are in
  };

  /** The open connection's one timer: heartbeat deadlines, the hidden-page grace, the move back to WebSocket. */
  const tick = (): void => {
    const now = Date.now();
    if (hb && now - due > LATE && !woke) return (woke = true), probe('heartbeat-timeout');
    woke = false;
    if (closeHidden && hiddenAt) {
      return now - hiddenAt < HIDDEN_GRACE ? setTimer(hiddenAt + HIDDEN_GRACE - now, tick) : pause('hidden');
    }
    if (FULL && upgradable && hl && upgradeAfter) {
      // On a fallback transport: check WebSocket in the background every `upgradeAfter` ms.
      if (now - scoutedAt >= upgradeAfter) void scoutWebSocket(); // sets scoutedAt before its first await
      if (!hb) return setTimer(scoutedAt + upgradeAfter - now, tick);
    }
    if (!hb) return;
    if (pingAt) return now < pongBy ? setTimer(pongBy - now, tick) : lost(why);
    const quiet = now - last;
    const { interval, timeout, message } = hb;
    if (quiet < interval) setTimer(interval - quiet, tick);
    else if (canPing()) ping(timeout, 'heartbeat-timeout');
    else if (quiet < interval + timeout) setTimer(interval + timeout - quiet, tick);
    else lost('heartbeat-timeout');
  };

  /** Closes without giving up: used for hidden pages and the back/forward cache. */
  function pause(reason: Reason): void {
    drop(reason);
    attempt = 0;
    transition('closed', reason);
  }

  const resume = (reason: Reason): void => {
    transition(state === 'closed' ? 'connecting' : 'reconnecting', reason);
    void attemptOpen();
  };

  const onLifecycle = (e: LifecycleEvent): void => {
    const paused = state === 'closed';
    if (e === 'hidden') {
      hiddenAt = Date.now();
      if (closeHidden && state === 'open') tick();
    } else if (e === 'pagehide') {
      pause('pagehide');
    } else if (e === 'online' && state === 'reconnecting' && !current) {
      resume('online'); // skip the rest of the backoff wait
    } else if (paused && (e === 'pageshow' || e === 'visible')) {
      hiddenAt = 0;
      attempt = 0;
      resume(e);
    } else {
      if (e === 'visible') hiddenAt = 0;
      probe(e === 'offline' ? 'offline' : 'heartbeat-timeout');
    }
  };

  const onAbort = (): void => close();

  const start = (reason: Reason): void => {
    started = true;
    stopped = false;
    if (!unwatch) {
      unwatch = watchLifecycle(onLifecycle);
      if (signal) signal.addEventListener('abort', onAbort);
    }
    resume(reason);
  };

  const close = (code = 1000, reason = ''): void => {
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new OptionError(`close() code must be 1000 or 3000-4999, got ${code}`);
    }
    stopped = true;
    detach();
    if (FULL && hl && name === 'websocket') current!.control('bye');
    if (drop(reason, code)) emit('close', { code, reason, wasClean: true, willReconnect: false });
    transition('closed', 'user-close');
    if (FULL) uploads.stop('closed', 'close() was called');
    if (outbox.length) {
      const err = new HeartlineError('closed', `${outbox.length} message(s) not acknowledged`, undefined, outbox.map((e) => e[1]));
      for (const e of outbox.splice(0)) if (e[3]) e[3](err);
      emit('error', err);
    }
  };

  const send = (value: unknown, resolve?: () => void, reject?: (e: HeartlineError) => void): void => {
    if (stopped) throw new HeartlineError('closed', 'send() after close()');
    const data = o.json && !isBinary(value) ? JSON.stringify(value) : value;
    if (typeof data != 'string' && !isBinary(data)) {
      throw new OptionError('send() takes text, binary or (json: true) JSON');
    }
    if (!started) start('connect');
    if (outbox.length >= limit) {
      const oldest = limit && overflow === 'drop-oldest';
      const err = new QueueOverflowError(`queue full (${limit})`, oldest ? outbox[0]![1] : data);
      if (overflow === 'error') throw err;
      emit('error', err);
      const dropped: Entry = oldest ? outbox.shift()! : [0, data, resolve, reject];
      if (dropped[3]) dropped[3](err);
      if (!oldest) return;
      written = Math.max(0, written - 1);
    }
    outbox.push([++seq, data, resolve, reject]);
    if (state === 'open') flush();
  };

  const conn: Connection = {
    get state() {
      return state;
    },
    get transport() {
      return name;
    },
    get lastEventId() {
      return lastEventId;
    },
    send: (data) => send(data),
    sendWithAck: (data) => new Promise((resolve, reject) => send(data, resolve, reject)),
    upload(blob, options) {
      if (!FULL) return Promise.reject(new HeartlineError('upload', 'heartline/ws has no uploads: import heartline'));
      if (stopped) return Promise.reject(new UploadError('closed', 'upload() after close()'));
      if (state === 'open' && !hl) return Promise.reject(new UploadError('protocol', 'uploads need a heartline protocol server'));
      if (!started) start('connect');
      return uploads.start(blob, options);
    },
    close,
    reconnect() {
      attempt = 0;
      authRetried = false;
      if (!started || stopped || !unwatch) return start('connect');
      if (drop('user-reconnect')) emit('close', { code: 1000, reason: 'user-reconnect', wasClean: true, willReconnect: true });
      resume('user-reconnect');
    },
    on(type, listener) {
      const off = on(type, listener);
      if (type === 'message' && !started) start('connect');
      return off;
    },
  };
  if (signal && signal.aborted) stopped = true;
  else if (!o.lazy) start('connect');
  return conn;
};
