import { AUTH, LATER, MAX_HINT, backoff, classifyClose } from './backoff.js';
import { createEmitter } from './emitter.js';
import { HeartlineError, OptionError, QueueOverflowError } from './errors.js';
import { watchLifecycle } from './lifecycle.js';
import type { LifecycleEvent } from './lifecycle.js';
import { resolveHeartbeat, resolveReconnect, validate } from './options.js';
import type { Data, Options, Reason, State, TransportName, UrlSource } from './options.js';
import { openWebSocket, toWebSocketUrl } from './transports/websocket.js';
import type { Transport } from './transports/types.js';

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
  /** Drops the current attempt or connection and connects again now, backoff reset. Also restarts a closed connection. */
  reconnect(): void;
  /** Final: no more reconnects; queued messages are reported through `error`. code: 1000 or 3000-4999. */
  close(code?: number, reason?: string): void;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events>(type: K, listener: Events[K]): () => void;
}

/** A `whenHidden: 'close'` connection closes after the page has been hidden this long (ms). */
const HIDDEN_GRACE = 30000;
/** The longest a probe (on wake-up, visibility, online/offline) waits for an answer (ms). */
const PROBE = 5000;
/** A timer that fires this much later than scheduled means the tab was frozen or the machine slept (ms). */
const LATE = 2000;

const isBinary = (d: unknown): d is Data =>
  d instanceof ArrayBuffer || ArrayBuffer.isView(d) || (typeof Blob == 'function' && d instanceof Blob);

/**
 * Opens a connection that keeps itself alive: it reconnects with jittered backoff, checks liveness
 * with wall-clock heartbeat deadlines, queues sends while down and reacts to the page lifecycle.
 * Throws {@link OptionError} synchronously for invalid options.
 */
export const connect = (url: UrlSource, options: Options = {}): Connection => {
  validate(options);
  const o = options;
  const hb = resolveHeartbeat(o.heartbeat);
  const rc = resolveReconnect(o.reconnect);
  const limit = o.queue?.limit ?? 1000;
  const closeHidden = o.whenHidden === 'close';
  const { emit, on } = createEmitter<Events>(
    ['open', 'message', 'state', 'reconnecting', 'close', 'error', 'heartbeat'],
    o.logger,
  );

  let state: State = 'closed';
  let current: Transport | undefined; // the one live transport; undefined while none is open or opening
  let name: TransportName | undefined; // set once `current` is open
  let gen = 0; // bumped whenever an attempt or connection is discarded; stale callbacks compare it
  let attempt = 0; // retries since the last stable connection
  let authRetried = false; // the one retry with refreshed credentials has been spent
  let timer: ReturnType<typeof setTimeout> | undefined; // the one timer: connect deadline, heartbeat or backoff
  let due = 0; // when `timer` should fire, wall clock
  let openedAt = 0;
  let last = 0; // last inbound frame, wall clock
  let pingAt = 0; // when the unanswered ping went out; 0 = none outstanding
  let pongBy = 0;
  let why: Reason = 'heartbeat-timeout'; // what an unanswered ping will be blamed on
  let woke = false; // the last tick was late and turned into a probe
  let hiddenAt = 0;
  let started = false; // lazy connections start on first use
  let stopped = false; // close() was called: send() refuses
  let unwatch: (() => void) | undefined;
  let authInFlight: Promise<unknown> | undefined;
  const lastEventId = o.lastEventId ?? '';
  const queue: Data[] = [];

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
    current?.close(code, reason);
    current = name = undefined;
    return had;
  };

  /** Stops watching the page and the signal: after this only reconnect() brings the connection back. */
  const detach = (): void => {
    unwatch?.();
    unwatch = undefined;
    o.signal?.removeEventListener('abort', onAbort);
  };

  /** Gives up (a stop rule, or no way to connect); the queue is kept for a later reconnect(). */
  const fail = (reason: Reason, error: HeartlineError): void => {
    drop(reason);
    detach();
    transition('closed', reason);
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
      const src = o.endpoints?.websocket ?? url;
      const target = toWebSocketUrl(await (typeof src == 'function' ? src() : src));
      if (g !== gen) return; // close(), reconnect() or a newer attempt took over while we awaited
      if (hb) setTimer(hb.interval + hb.timeout, () => lost('connect-timeout'));
      // A missing WebSocket throws here too ("not a constructor"): both are unrecoverable.
      current = openWebSocket(o.WebSocket ?? (globalThis as { WebSocket?: any }).WebSocket, target, o.protocols, o.binaryType ?? 'arraybuffer', {
        open: () => g === gen && opened(credentials),
        message: (d) => g === gen && received(d),
        close: (code, reason, clean) => g === gen && lost(clean ? 'server-close' : 'network-error', code, reason, clean),
      });
    } catch (e) {
      if (g === gen) fail('stop', new HeartlineError('connect', 'cannot open a WebSocket (bad URL? or pass options.WebSocket)', e));
    }
  };

  const opened = (credentials: unknown): void => {
    const t = current!;
    name = 'websocket';
    openedAt = last = Date.now();
    pingAt = 0;
    if (credentials != null) t.send(typeof credentials == 'string' ? credentials : JSON.stringify(credentials));
    // Queued messages go first, before anything a listener sends from the events below.
    while (queue.length && t.send(queue[0]!)) queue.shift();
    transition('open', 'open');
    emit('open', { transport: name, resumed: false, attempt });
    if (current === t) tick();
  };

  const received = (data: unknown): void => {
    const now = (last = Date.now());
    if (pingAt) {
      emit('heartbeat', { rtt: now - pingAt });
      pingAt = 0;
      setTimer(hb!.interval, tick); // the next ping is due `interval` after this answer, not at the old deadline
    }
    if (hb?.isPong?.(data)) return;
    if (o.json && typeof data == 'string') {
      try {
        data = JSON.parse(data);
      } catch (e) {
        return emit('error', new HeartlineError('malformed', 'message is not JSON', e, data));
      }
    }
    emit('message', data, { id: lastEventId, event: 'message', transport: name! });
  };

  /** The current connection or attempt is gone: decide between retrying and stopping. */
  function lost(reason: Reason, code = 1006, text = '', wasClean = false, error?: HeartlineError): void {
    drop(reason);
    if (rc && openedAt && Date.now() - openedAt >= rc.stableAfter) (attempt = 0), (authRetried = false);
    openedAt = 0;
    const verdict = classifyClose(code);
    let retry = !!rc && attempt < rc.maxRetries && !(verdict === AUTH && authRetried);
    if (rc?.shouldReconnect) retry = rc.shouldReconnect({ attempt, reason, code, retry, error }) ?? retry;
    emit('close', { code, reason: text, wasClean, willReconnect: retry });
    if (!retry) {
      const stopWhy: Reason =
        verdict === AUTH && authRetried ? 'auth-failed' : rc && attempt >= rc.maxRetries ? 'max-retries' : 'stop';
      return fail(stopWhy, error ?? new HeartlineError('connect', `gave up (${stopWhy}, code ${code})`, undefined, code));
    }
    if (verdict === AUTH) authRetried = true;
    let delay = backoff(attempt++, rc!);
    if (verdict === LATER) delay = Math.min(MAX_HINT, Math.max(delay, rc!.initialDelay * 10));
    transition('reconnecting', reason);
    if (error) emit('error', error);
    emit('reconnecting', { attempt, delay, reason, error });
    setTimer(delay, attemptOpen);
  }

  const ping = (ms: number, blame: Reason): void => {
    const m = hb!.message!;
    pingAt = Date.now();
    pongBy = pingAt + ms;
    why = blame;
    current!.send(typeof m == 'function' ? m() : m);
    setTimer(ms, tick);
  };

  /** Asks the server for a sign of life now, with a short deadline. */
  const probe = (blame: Reason): void => {
    if (state !== 'open' || !hb) return;
    if (hb.message) ping(Math.min(hb.timeout, PROBE), blame);
    else setTimer(Math.min(hb.timeout, PROBE), tick); // silence-only: re-judge once in-flight frames are in
  };

  /** The open connection's one timer: heartbeat deadlines and the hidden-page grace period. */
  const tick = (): void => {
    const now = Date.now();
    if (hb && now - due > LATE && !woke) return (woke = true), probe('heartbeat-timeout');
    woke = false;
    if (closeHidden && hiddenAt) {
      return now - hiddenAt < HIDDEN_GRACE ? setTimer(hiddenAt + HIDDEN_GRACE - now, tick) : pause('hidden');
    }
    if (!hb) return;
    if (pingAt) return now < pongBy ? setTimer(pongBy - now, tick) : lost(why);
    const quiet = now - last;
    const { interval, timeout, message } = hb;
    if (quiet < interval) setTimer(interval - quiet, tick);
    else if (message) ping(timeout, 'heartbeat-timeout');
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
      o.signal?.addEventListener('abort', onAbort);
    }
    resume(reason);
  };

  const close = (code = 1000, reason = ''): void => {
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new OptionError(`close() code must be 1000 or in [3000, 4999], got ${code}`);
    }
    stopped = true;
    detach();
    if (drop(reason, code)) emit('close', { code, reason, wasClean: true, willReconnect: false });
    transition('closed', 'user-close');
    if (queue.length) {
      emit('error', new HeartlineError('closed', `${queue.length} queued message(s) were not sent`, undefined, queue.splice(0)));
    }
  };

  const send = (value: unknown): void => {
    if (stopped) throw new HeartlineError('closed', 'send() after close()');
    const data = o.json && !isBinary(value) ? JSON.stringify(value) : value;
    if (typeof data != 'string' && !isBinary(data)) {
      throw new OptionError('send() takes a string or binary data (any JSON value with json: true)');
    }
    if (!started) start('connect');
    if (state === 'open' && current!.send(data)) return;
    if (queue.length >= limit) {
      const overflow = o.queue?.overflow;
      const oldest = limit && (!overflow || overflow === 'drop-oldest');
      const err = new QueueOverflowError(`send queue full (${limit}), message dropped`, oldest ? queue[0] : data);
      if (overflow === 'error') throw err;
      emit('error', err);
      if (!oldest) return;
      queue.shift();
    }
    queue.push(data);
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
    send,
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
  if (o.signal?.aborted) stopped = true;
  else if (!o.lazy) start('connect');
  return conn;
};
