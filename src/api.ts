import type { Connection, Events } from './connection.js';
import type { Core } from './kernel.js';
import { HeartlineError, OptionError, QueueOverflowError, UploadError } from './errors.js';
import { watchLifecycle } from './lifecycle.js';
import type { LifecycleEvent } from './lifecycle.js';
import { END } from './machine.js';
import type { Step } from './machine.js';
import type { Entry } from './outbox.js';
import type { Data, Reason } from './options.js';

/** What the public object needs from the core (core.ts). */
export interface Steps {
  on: <K extends keyof Events>(type: K, listener: Events[K]) => () => void;
  drop(reason: string, code?: number): boolean;
  go(step: Step, reason: Reason): void;
  resume(reason: Reason): void;
  restart(reason: Reason): void;
  flush(): void;
  /** Forgets the retries so far (a user's reconnect()). */
  reset(): void;
  /** A page or network event (lifecycle.ts). */
  page(e: LifecycleEvent): void;
}

const isBinary = (d: unknown): d is Data =>
  d instanceof ArrayBuffer || ArrayBuffer.isView(d) || (typeof Blob == 'function' && d instanceof Blob);

/**
 * The public {@link Connection} over a core: sends (the queue bound), close(), reconnect(),
 * upload(), on(), the lazy start and the page and signal watches.
 */
export const publicApi = (k: Core, s: Steps) => {
  const { o, outbox, emit } = k;
  const { limit = 1000, overflow = 'drop-oldest' } = o.queue!;
  const { signal } = o;
  let started = false; // lazy connections start on first use
  let stopped = false; // close() was called: send() refuses
  let unwatch: (() => void) | undefined;

  /** Stops watching the page and the signal: after this only reconnect() brings the connection back. */
  const detach = (): void => {
    if (unwatch) unwatch();
    unwatch = undefined;
    if (signal) signal.removeEventListener('abort', onAbort);
  };

  const onAbort = (): void => close();

  /** The first use of a connection (or a reconnect() after close() or a give-up): watch the page, connect. */
  const start = (): void => {
    started = true;
    stopped = false;
    if (!unwatch) {
      unwatch = watchLifecycle(s.page);
      if (signal) signal.addEventListener('abort', onAbort);
    }
    s.resume('connect');
  };

  const close = (code = 1000, reason = ''): void => {
    if ((code !== 1000 && !(code >= 3000 && code <= 4999)) || new TextEncoder().encode(reason).length > 123) {
      throw new OptionError(`close() code must be 1000 or 3000-4999 and its reason at most 123 UTF-8 bytes, got ${code}`);
    }
    stopped = true;
    detach();
    if (k.hl && k.name === 'websocket') k.current!.control('bye');
    const had = s.drop(reason, code);
    const g = k.gen;
    if (had) emit('close', { code, reason, wasClean: true, willReconnect: false });
    if (g === k.gen) s.go(END, 'user-close');
    if (g !== k.gen) return; // a listener called reconnect(): what was queued goes with it
    if (k.up) k.up.stop('closed', 'close() was called');
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
    if (!started) start();
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
    // Open with a transport: a close listener runs while the lost one is gone and the state not yet left.
    if (k.current && k.state === 'open') s.flush();
  };

  const conn: Connection = {
    get state() {
      return k.state;
    },
    get transport() {
      return k.name;
    },
    get lastEventId() {
      return k.lastEventId;
    },
    send: (data) => send(data),
    sendWithAck: (data) => new Promise((resolve, reject) => send(data, resolve, reject)),
    upload(blob, options) {
      if (!k.up) return Promise.reject(new HeartlineError('upload', 'this connect() has no uploads (heartline/ws, or connectWith() without uploads)'));
      if (stopped) return Promise.reject(new UploadError('closed', 'upload() after close()'));
      if (k.current && k.state === 'open' && !k.hl) return Promise.reject(new UploadError('protocol', 'uploads need a heartline protocol server'));
      if (!started) start();
      return k.up.start(blob, options);
    },
    close,
    reconnect() {
      s.reset();
      // Not watching the page: never started, closed, or given up (start() watches, detach() stops).
      if (!unwatch) return start();
      s.restart('user-reconnect');
    },
    on(type, listener) {
      const off = s.on(type, listener);
      if (type === 'message' && !started) start();
      return off;
    },
  };
  const init = (): void => {
    if (signal && signal.aborted) stopped = true;
    else if (!o.lazy) start();
  };
  return { conn, detach, init };
};
