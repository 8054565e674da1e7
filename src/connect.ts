import { AUTH, LATER, MAX_HINT, RETRY, STOP, backoff, classifyClose } from './backoff.js';
import { createEmitter } from './emitter.js';
import { FULL } from './flags.js';
import { HeartlineError, OptionError, QueueOverflowError, UploadError, isHeartlineError } from './errors.js';
import { watchLifecycle } from './lifecycle.js';
import { acked, createOutbox, flush as write, renumber } from './outbox.js';
import type { Entry } from './outbox.js';
import type { LifecycleEvent } from './lifecycle.js';
import { resolveHeartbeat, resolveReconnect, validate, validateFull } from './options.js';
import type { Data, DefaultOut, JsonValue, Options, Reason, ResolvedHeartbeat, ResolvedReconnect, State, TransportName, UrlSource } from './options.js';
import { field, parseFrame } from './protocol.js';
import { longpoll } from './transports/longpoll.js';
import { sse } from './transports/sse.js';
import type { Context, Transport, TransportFactory } from './transports/types.js';
import { websocket } from './transports/websocket.js';
import { createUploads } from './upload.js';
import type { UploadOptions, UploadResult } from './upload.js';

/**
 * Listener signatures, by event type. `In` is the type of `message` data: `any` unless the
 * connection was given one (see {@link Connect}). It is a promise about what the server sends,
 * not a check: heartline delivers what it received (JSON-parsed with `json: true`).
 */
export interface Events<In = any> {
  open: (info: { transport: TransportName; resumed: boolean; attempt: number }) => void;
  message: (data: In, meta: { id: string; event: string; transport: TransportName }) => void;
  state: (state: State, info: { previous: State; reason: Reason }) => void;
  reconnecting: (info: { attempt: number; delay: number; reason: Reason; error?: HeartlineError | undefined }) => void;
  close: (info: { code: number; reason: string; wasClean: boolean; willReconnect: boolean }) => void;
  error: (error: HeartlineError) => void;
  /** A heartbeat was answered: `rtt` is the ms from the ping to the first inbound frame after it. */
  heartbeat: (info: { rtt: number }) => void;
}

/**
 * A connection: `In` is the type of the messages it receives (`message` data), `Out` the type
 * send() and sendWithAck() accept. `Connection` alone is `Connection<any, unknown>`: untyped, as
 * before message types existed.
 */
export interface Connection<In = any, Out = unknown> {
  readonly state: State;
  /** The open transport, or undefined while none is open. */
  readonly transport: TransportName | undefined;
  /** The last event id the server named ('' until then); carried into every reconnection. */
  readonly lastEventId: string;
  /** Writes now when open, else queues (bounded); throws a HeartlineError after close(). */
  send(data: Out): void;
  /**
   * Like send(), and resolves once the server acknowledged the message (heartline protocol), the
   * HTTP request carrying it succeeded (plain HTTP transports) or it was written (plain WebSocket).
   * Rejects with a HeartlineError when it is dropped (close(), queue overflow).
   */
  sendWithAck(data: Out): Promise<void>;
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
  on<K extends keyof Events>(type: K, listener: Events<In>[K]): () => void;
}

/**
 * The signature of {@link connect}. Type arguments are optional: `connect(url)` is untyped
 * (`message` data `any`, send() takes `unknown`, checked at run time, as before message types).
 * `connect<In>(url, options)` types the received messages and makes send() and sendWithAck()
 * take what the mode can send ({@link DefaultOut}): {@link Data} when the options have no `json`
 * or `json: false`, else {@link JsonValue} (`json: true`, or an `Options` value whose `json` is
 * only known to be a boolean). `connect<In, Out>(...)` names both directions, like socket.io's
 * typed events. The types are promises, not checks: what arrives is not validated.
 *
 * @example
 * type ChatIn = { from: string; text: string };
 * type ChatOut = { text: string };
 * const chat = connect<ChatIn, ChatOut>('wss://example.com/chat', { json: true });
 * chat.on('message', (m) => console.log(m.from, m.text)); // m: ChatIn
 * chat.send({ text: 'hi' }); // send(() => 1) or send({ txt: 'hi' }) does not compile
 */
export interface Connect {
  /** Text and binary mode (no `json`, or `json: false`): `Out` defaults to {@link Data} once `In` is given. */
  <In = any, Out = DefaultOut<In, Data>>(url: UrlSource, options?: Options & { json?: false }): Connection<In, Out>;
  /** JSON mode (`json: true`, or a `json` not known to be false): `Out` defaults to {@link JsonValue} once `In` is given. */
  <In = any, Out = DefaultOut<In, JsonValue>>(url: UrlSource, options: Options): Connection<In, Out>;
}

/** A `whenHidden: 'close'` connection closes after the page has been hidden this long (ms). */
const HIDDEN_GRACE = 30000;
/** The longest a probe (wake-up, visibility, online/offline) or a `welcome` is waited for (ms). */
const PROBE = 5000;
/** The longest the server's first protocol frame is waited for (ms): a silent server is plain. */
const WELCOME = 2000;
/** A timer that fires this much later than scheduled means the tab was frozen or the machine slept (ms). */
const LATE = 2000;
/**
 * ms. A connection that proved it works (the protocol handshake, or an inbound frame after open)
 * and lived this long was not a failed attempt: the retry counter resets, whatever `stableAfter`
 * says (a proxy that cuts idle connections after a few seconds must not push delays to maxDelay).
 * An idle connection cut twice after about the same quiet time (at least this long) teaches the
 * heartbeat to ping before that time: 3/4 of it, never less than this.
 */
const MIN_LIFE = 1000;
/** On a fallback after WebSocket had worked on this connection (a server restart), WebSocket is re-checked this soon (ms). */
const SOON = 3000;
/** The longest session id a server may name (characters); it travels in every HTTP request's query. */
const MAX_SESSION = 256;
const ALL: TransportFactory[] = FULL ? [websocket, sse, longpoll] : [websocket];
/** sessionStorage key prefix marking a URL whose WebSocket server turned out to be plain. */
const plainKey = 'heartline:plain:';

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
export const connect: Connect = (url: UrlSource, options: Options = {}): Connection => {
  let o: Options, hb: ResolvedHeartbeat | undefined, rc: ResolvedReconnect | undefined;
  try {
    // Read once: an options object with getters must not be able to throw (or change) later, inside a socket handler.
    o = { ...options, endpoints: { ...options.endpoints }, queue: { ...options.queue } };
    if (o.headers) o.headers = { ...o.headers };
    validate(o);
    if (FULL) validateFull(o);
    hb = resolveHeartbeat(o.heartbeat);
    rc = resolveReconnect(o.reconnect);
  } catch (e) {
    throw isHeartlineError(e) ? e : new OptionError('the options could not be read', e);
  }
  const { limit = 1000, overflow = 'drop-oldest' } = o.queue!;
  const { signal } = o;
  const endpoints = o.endpoints!;
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
  let proven = false; // the open connection completed the protocol handshake or received a frame
  let cut = 0; // the quiet time (ms) before the last idle connection was cut
  let beat = hb ? hb.interval : 0; // the ping interval in force: lowered by the server's announcement or by idle cuts
  let wsSeen = false; // WebSocket was open on this connection once: a failure later is an outage, not a block
  let byTimeout = false; // plain mode only because no welcome came in time: a late welcome reconnects
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
  let plain = ''; // the sessionStorage key that marks this WebSocket URL as a plain server's
  let tried = 0; // when the current transport was asked to open
  let bin: [string | undefined, string] | undefined; // a `bin` header waiting for its binary frame
  const outbox = createOutbox();
  // Upload frames may go out only on an open protocol transport.
  // heartline/ws has no uploads: every use below is behind FULL.
  // An app callback (an option, an upload's onProgress) that throws is reported like a throwing listener and disturbs nothing.
  const threw = (e: unknown): void => emit('error', new HeartlineError('listener', 'an option callback threw', e));
  const uploads = FULL ? createUploads(() => (hl && state === 'open' ? current : undefined), threw) : (0 as never);

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
    byTimeout = false;
    if (FULL) unscout(), uploads.pause();
    current?.close(code, reason);
    current = name = hl = undefined;
    outbox.w = 0; // nothing is written on a transport that is gone: all of the outbox waits again
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
    const g = gen;
    transition('closed', reason);
    // A state listener may have called reconnect(): then the uploads go on with the new attempt.
    if (FULL && g === gen) uploads.stop('closed', `the connection gave up (${reason})`);
    emit('error', error);
  };

  /** Runs an app callback; a throw is reported through `error` and counts as `undefined`. */
  const call = <A extends unknown[], R>(f: (...a: A) => R, ...args: A): R | undefined => {
    try {
      return f(...args);
    } catch (e) {
      threw(e);
    }
  };

  const attemptOpen = async (): Promise<void> => {
    const g = ++gen;
    if (closeHidden && hiddenAt && Date.now() - hiddenAt >= HIDDEN_GRACE) return pause('hidden');
    // One deadline for the whole attempt: auth(), the URL function and the transport's open.
    const ms = hb ? hb.timeout : 10000;
    let authing = !!o.auth;
    setTimer(ms, () => lost('connect-timeout', 1006, '', false, authing ? new HeartlineError('auth', `auth() did not settle within ${ms} ms`) : undefined));
    let credentials: unknown;
    try {
      // A fresh call per attempt (a hung one is abandoned); always yields once, so nothing is emitted before connect() returns.
      credentials = await Promise.resolve().then(o.auth);
      authing = false;
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
      plain = FULL ? plainKey + target.origin + target.pathname : '';
      // '1': it spoke and not the protocol (plain for the page session); 's': it was silent (ask, wait briefly).
      const ask = FULL && o.protocol !== 'plain' && remember(plain) !== '1';
      if (f === websocket && ask) target.searchParams.set('heartline', '1');
      ctx = { url: target.href, o, lastEventId, session, credentials };
      // A buffering proxy (nginx's default) holds back an event stream's response headers too:
      // give them as long as a welcome, then try the next transport.
      if (f.name === 'sse') setTimer(waitOpen, () => lost('connect-timeout'));
      tried = Date.now();
      const t = (current = f.open(ctx, {
        open: (announced) => g === gen && opened(f!.name, ask && announced, key, credentials),
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
        restart('upgrade');
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
   * silent until the deadline is plain for this connection. Silence proves little (a slow protocol
   * server), so the next connections still ask, but wait only twice as long as the socket took to
   * open (at least 250 ms): a protocol server's welcome follows its handshake at once. An HTTP
   * server that announced the protocol but sends no welcome sits behind a buffering proxy: that
   * attempt fails and the next transport is tried.
   */
  const opened = (n: TransportName, announced: boolean | undefined, key: string, credentials: unknown): void => {
    name = n;
    // A fallback that opened after WebSocket had worked is an outage's accident, not this network's rule.
    if (FULL && (n === 'websocket' || !wsSeen)) remember(key, n);
    if (n === 'websocket') wsSeen = true;
    if (!FULL || announced === false) return ready(false, credentials);
    const wait = remember(plain) === 's' ? Math.min(waitOpen, Math.max(250, 2 * (Date.now() - tried))) : waitOpen;
    setTimer(wait, () => (announced ? lost('connect-timeout') : (remember(plain, 's'), (byTimeout = true), ready(false, credentials))));
  };

  /** The connection is usable: resend what the server has not acknowledged, then report open. */
  const ready = (heartline: boolean, credentials?: unknown, resumed = false, asked = ''): void => {
    const t = current!;
    clearTimeout(timer);
    hl = t.hl = heartline;
    proven = heartline;
    openedAt = last = scoutedAt = Date.now();
    // Back on a fallback after WebSocket worked here (a restart raced the rotation): look again soon.
    if (FULL && wsSeen && name !== 'websocket') scoutedAt -= upgradeAfter - SOON;
    pingAt = 0;
    fallbacks = 0;
    if (!heartline && credentials != null && name === 'websocket') {
      t.send(typeof credentials == 'string' ? credentials : JSON.stringify(credentials), 0);
    }
    outbox.w = 0;
    flush();
    transition('open', 'open');
    if (current !== t) return; // a state listener closed or reconnected
    if (FULL) heartline ? uploads.resume() : uploads.stop('protocol', 'uploads need a heartline protocol server');
    emit('open', { transport: name!, resumed, attempt });
    // Never a silent gap: the app asked to resume and the server could not.
    if (asked && !resumed && current === t) emit('error', new HeartlineError('gap', `the server could not resume after event ${asked}`, undefined, asked));
    if (current === t) tick();
  };

  /** Writes every outbox entry not yet written on this transport, in order. */
  const flush = (): void => {
    write(outbox, current!.send);
    // A plain WebSocket acknowledges nothing: what it took is done.
    if (!hl && name === 'websocket' && outbox.w) acked(outbox, outbox[outbox.w - 1]![0]);
  };

  /** An acknowledgement from the server: one beyond what was sent is a lie, and loses nothing. */
  const ack = (n: number, frame: string): boolean =>
    n >= 0 && n <= outbox.s
      ? (acked(outbox, n), true)
      : (lost('network-error', 1002, 'bad ack', false, new HeartlineError('malformed', `ack ${n} but only ${outbox.s} sent`, undefined, frame)), false);

  const alive = (): void => {
    const now = (last = Date.now());
    if (state === 'open') proven = true;
    if (pingAt) {
      const rtt = now - pingAt;
      pingAt = 0;
      setTimer(beat, tick); // the next ping is due `interval` after this answer, not at the old deadline
      emit('heartbeat', { rtt });
    }
  };

  /** A WebSocket frame: decoded by the protocol once a `welcome` confirmed it. */
  const received = (data: unknown): void => {
    alive();
    if (FULL) {
      const late = byTimeout;
      byTimeout = false;
      if (typeof data != 'string') {
        const b = bin;
        bin = undefined;
        return b ? deliver(data, b[0], b[1]) : hl === undefined ? negotiate(data) : deliver(data);
      }
      if (hl) {
        const f = parseFrame(data);
        if (f.type !== 'msg' && f.type !== 'bin') return control(data);
        const id = field(f.fields[0]);
        const ev = field(f.fields[1]) || 'message';
        return f.type === 'bin' ? void (bin = [id, ev]) : deliver(f.payload || '', id, ev);
      }
      // A protocol server that was slower than the welcome deadline: connect again, in protocol mode.
      // Any other first frame proves a plain server: remembered for the page session.
      if (late) {
        if (data.startsWith('welcome ')) return remember(plain, '0'), lost('network-error', 1002, 'late welcome');
        remember(plain, '1');
      }
      if (hl === undefined) return negotiate(data);
    }
    deliver(data);
  };

  /** A frame while negotiating: `welcome`/`ready` continue it, anything else means a plain server. */
  const negotiate = (data: unknown, id?: string, ev?: string): void => {
    if (typeof data == 'string' && /^(welcome|ready) /.test(data)) return control(data);
    if (name === 'websocket') remember(plain, '1'); // it spoke, and not the protocol: plain for this page session
    ready(false, ctx!.credentials);
    deliver(data, id, ev);
  };

  const deliver = (data: unknown, id?: string, event = 'message'): void => {
    if (id !== undefined) lastEventId = id;
    if (!hl && hb && hb.isPong && call(hb.isPong, data)) return;
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
    if (type === 'welcome' || type === 'ready') {
      let w: { session?: unknown; ack?: unknown; resumed?: unknown; heartbeat?: unknown } | undefined;
      try {
        w = JSON.parse(rest);
      } catch {
        // reported below
      }
      const s = w && w.session;
      const a = w && w.ack;
      if (!w || typeof w != 'object' || Array.isArray(w) || (s !== undefined && !(typeof s == 'string' && s.length <= MAX_SESSION)) || (a !== undefined && !Number.isInteger(a))) {
        return lost('network-error', 1002, 'bad ' + type, false, new HeartlineError('malformed', `${type} is not a valid object`, undefined, frame));
      }
      // The server's own keep-alive interval: silence longer than it (plus a second) is worth a ping.
      const h = w.heartbeat;
      if (hb && typeof h == 'number' && h >= MIN_LIFE) beat = Math.min(beat, h + MIN_LIFE);
      if (type === 'welcome' && name === 'websocket') {
        // The server speaks first; the WebSocket hello carries what HTTP requests carry in headers.
        current!.control(`hello ${JSON.stringify({ v: 1, session, lastEventId, auth: ctx!.credentials })}`);
        return setTimer(waitOpen, () => lost('connect-timeout'));
      }
      if (w.session !== session) {
        // A new session knows none of our sequence numbers: renumber what is still unacknowledged.
        session = ctx!.session = typeof w.session == 'string' ? w.session : undefined;
        renumber(outbox);
      } else if (!ack(+(w.ack || 0), frame)) return;
      ready(true, undefined, w.resumed === true, ctx!.lastEventId);
    } else if (type === 'ack') ack(n, frame); else if (type === 'ping') current?.control(`pong ${fields[0]}`);
    else if (type === 'retry') hint = n || 0; // clamped where it is used
    else if (type === 'close') lost('server-close', n || 1000, field(fields[1]) || '', true);
  };

  /** The current connection or attempt is gone: decide between falling back, retrying and stopping. */
  function lost(reason: Reason, code = 1006, text = '', wasClean = false, error?: HeartlineError, wait?: number): void {
    const now = Date.now();
    const was = !!openedAt; // it had opened
    const lived = now - openedAt;
    const quiet = now - last;
    const had = drop(reason);
    const g = gen; // every emit below may run a listener that calls close() or reconnect(): then stop here
    if (rc && was && (lived >= rc.stableAfter || (proven && lived >= MIN_LIFE))) (attempt = 0), (authRetried = false);
    // An idle connection cut again after about the same quiet time: a proxy's idle timeout. Ping before it.
    if (was && reason !== 'heartbeat-timeout' && quiet >= MIN_LIFE && quiet < beat) {
      if (Math.abs(quiet - cut) < cut / 4) beat = Math.max(MIN_LIFE, (quiet * 3) >> 2);
      cut = quiet;
    }
    openedAt = 0;
    const verdict = classifyClose(code);
    // A transport that never opened: try the next one at once (a proxy may block only WebSockets).
    const fallback = FULL && had && !was && verdict === RETRY && ++fallbacks < usable;
    let retry = fallback || (!!rc && attempt < rc.maxRetries && verdict !== STOP && !(verdict === AUTH && authRetried));
    const decide = rc && rc.shouldReconnect;
    if (decide && !fallback) {
      const d = call(decide, { attempt, reason, code, retry, error });
      if (d !== undefined) retry = d;
    }
    emit('close', { code, reason: text, wasClean, willReconnect: retry });
    if (g !== gen) return;
    if (fallback) {
      pick++;
      transition('reconnecting', 'fallback');
      return void (g === gen && attemptOpen());
    }
    // Every transport failed in a row (an outage): the next round starts from the preferred one again.
    if (FULL && !was && fallbacks) pick = 0;
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
    if (g === gen && error) emit('error', error);
    if (g === gen) emit('reconnecting', { attempt, delay, reason, error });
    if (g === gen) setTimer(delay, attemptOpen);
  }

  /** Pings go as protocol frames, or as the app's message over a plain WebSocket; otherwise silence is watched. */
  const canPing = (): boolean => (FULL && !!hl) || (!!hb!.message && name === 'websocket');

  const ping = (ms: number, blame: Reason): void => {
    const m = hb!.message!;
    pingAt = Date.now();
    pongBy = pingAt + ms;
    why = blame;
    setTimer(ms, tick);
    if (FULL && hl) current!.control(`ping ${++pings}`);
    else if (m) {
      const d = typeof m == 'function' ? call(m) : m;
      // A message() that threw sends nothing (the deadline still judges); one that closed or reconnected has no transport to send on.
      if (d != null && current) current.send(d, 0);
    }
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
    let up = Infinity; // ms to the next background check of WebSocket
    if (FULL && upgradable && hl && upgradeAfter) {
      // On a fallback transport: check WebSocket in the background every `upgradeAfter` ms.
      if (now - scoutedAt >= upgradeAfter) void scoutWebSocket(); // sets scoutedAt before its first await
      up = scoutedAt + upgradeAfter - now;
      if (!hb) return setTimer(up, tick);
    }
    if (!hb) return;
    if (pingAt) return now < pongBy ? setTimer(pongBy - now, tick) : lost(why);
    const quiet = now - last;
    const { timeout } = hb;
    const interval = beat;
    if (quiet < interval) setTimer(Math.min(up, interval - quiet), tick);
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
    const g = gen;
    transition(state === 'closed' ? 'connecting' : 'reconnecting', reason);
    if (g === gen) void attemptOpen(); // unless a state listener closed or reconnected
  };

  /** Drops the current attempt or connection (a clean close that will reconnect) and connects again now. */
  const restart = (reason: Reason): void => {
    const had = drop(reason);
    const g = gen;
    if (had) emit('close', { code: 1000, reason, wasClean: true, willReconnect: true });
    if (g === gen) resume(reason); // unless a close listener closed or reconnected
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
    if ((code !== 1000 && !(code >= 3000 && code <= 4999)) || new TextEncoder().encode(reason).length > 123) {
      throw new OptionError(`close() code must be 1000 or 3000-4999 and its reason at most 123 UTF-8 bytes, got ${code}`);
    }
    stopped = true;
    detach();
    if (FULL && hl && name === 'websocket') current!.control('bye');
    const had = drop(reason, code);
    const g = gen;
    if (had) emit('close', { code, reason, wasClean: true, willReconnect: false });
    if (g === gen) transition('closed', 'user-close');
    if (g !== gen) return; // a listener called reconnect(): what was queued goes with it
    if (FULL) uploads.stop('closed', 'close() was called');
    if (outbox.length) {
      const err = new HeartlineError('closed', `${outbox.length} message(s) not acknowledged`, undefined, outbox.map((e) => e[1]));
      for (const e of outbox.splice(0)) if (e[3]) e[3](err);
      emit('error', err);
    }
  };

  const send = (value: unknown, resolve?: () => void, reject?: (e: HeartlineError) => void): void => {
    if (stopped) throw new HeartlineError('closed', 'send() after close()');
    let data = value;
    try {
      if (o.json && !isBinary(value)) data = JSON.stringify(value); // cycles, BigInt and toJSON throw
    } catch (e) {
      throw new OptionError('send() could not JSON-encode the value', e);
    }
    if (typeof data != 'string' && !isBinary(data)) {
      throw new OptionError('send() takes text, binary or (json: true) JSON');
    }
    if (!started) start('connect');
    // The limit counts messages waiting to be written; written ones wait only for their ack.
    if (outbox.length - outbox.w >= limit) {
      const oldest = limit && overflow === 'drop-oldest';
      const err = new QueueOverflowError(`queue full (${limit})`, oldest ? outbox[outbox.w]![1] : data);
      if (overflow === 'error') throw err;
      const dropped: Entry = oldest ? outbox.splice(outbox.w, 1)[0]! : [0, data, resolve, reject];
      if (dropped[3]) dropped[3](err);
      emit('error', err);
      if (!oldest || stopped) return;
    }
    outbox.push([++outbox.s, data, resolve, reject]);
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
      restart('user-reconnect');
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
