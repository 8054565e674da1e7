// What the framework adapters (src/react, src/vue) share. Framework-neutral: it only knows the
// core's public surface, which the adapters' builds import from the core file, not a copy of it.
import { HeartlineError, UploadError, observe } from './index.js';
import type { Connection, Options, Snapshot, State, UploadOptions, UploadResult, UrlSource } from './index.js';

const idle = (state: State): Snapshot => ({ state, transport: undefined, lastEventId: '', error: undefined, lastError: undefined });
const CONNECTING = idle('connecting');
const CLOSED = idle('closed');

/**
 * The snapshot shown while the adapter has no started connection yet: during server-side
 * rendering, on the first client render (so hydration matches) and until the connection starts.
 * `'connecting'` because that is what the connection is about to do; `'closed'` for `lazy`.
 */
export const initial = (o: Options): Snapshot => (o.lazy ? CLOSED : CONNECTING);

/** One observe() store per connection, however many components read it (observe() adds a listener). */
const stores = new WeakMap<Connection, ReturnType<typeof observe>>();
export const storeOf = (c: Connection): ReturnType<typeof observe> => {
  let s = stores.get(c);
  if (!s) stores.set(c, (s = observe(c)));
  return s;
};

/**
 * The identity of a connection: the URL and every option by content, with object keys sorted so
 * an inline `{ a, b }` equals `{ b, a }`. Functions count only by presence (their identity changes
 * on every render), and `lastEventId` not at all (it is where to start, and an app that saves the
 * last id into state must not reconnect on every message).
 */
export const keyOf = (url: UrlSource, o: Options): string =>
  JSON.stringify([url, { ...o, lastEventId: 0 }], (_, v: unknown) =>
    typeof v == 'function'
      ? 1
      : v && (v as object).constructor == Object
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
        : v,
  );

/**
 * The connection's functions as the adapters return them: stable (the same object for the
 * adapter's lifetime) and usable before the adapter's connection exists. Such a call waits in the
 * adapter and is replayed on the connection, in call order, right after it starts. Calls still
 * waiting when the adapter drops them (React: the connection is replaced or the component
 * unmounts before it started; Vue: the scope is disposed before mount) go with them: `send`,
 * `close` and `reconnect` are dropped; `sendWithAck` rejects with a HeartlineError `closed` and
 * `upload` with an UploadError `closed`, as on a connection closed first. A replayed call the
 * connection refuses (bad data, a full queue with overflow 'error') cannot throw at its caller any
 * more: it goes to the host's `reportError`, like a throwing `error` listener.
 */
export interface Functions<Out> {
  /** The connection's send(): writes now when open, else queues (bounded by `queue.limit`). */
  send: (data: Out) => void;
  /** The connection's sendWithAck(): resolves once the message is acknowledged, rejects when it is dropped. */
  sendWithAck: (data: Out) => Promise<void>;
  /** The connection's upload() (needs a heartline protocol server). */
  upload: (blob: Blob, options?: UploadOptions) => Promise<UploadResult>;
  /** The connection's close(): closed for good, until `reconnect()` (or, in the adapter, a new URL or option). */
  close: (code?: number, reason?: string) => void;
  /** The connection's reconnect(): connects again now; also starts a closed or `lazy` connection. */
  reconnect: () => void;
}

/** A call waiting for the connection: called with it, or with nothing when it is dropped. */
type Call = (c?: Connection) => void;
/** `s`: the adapter's started connection, if any; `q`: the calls waiting for one; `f`: the functions over both. */
export type Calls = { s?: Connection | undefined; q: Call[]; f: Functions<unknown> };

/** Hands the waiting calls to `c` in order, or drops them when there is no `c` (see {@link Functions}). */
export const replay = (q: Call[], c?: Connection): void => {
  for (const f of q.splice(0)) {
    try {
      f(c);
    } catch (e) {
      (globalThis as { reportError?: (e: unknown) => void }).reportError?.(e);
    }
  }
};

/** A new adapter's {@link Calls}: its {@link Functions} go through its started connection, or wait in `q`. */
export const calls = (): Calls => {
  const run = (f: Call): void => void (box.s ? f(box.s) : box.q.push(f));
  const later = <T>(f: (c: Connection) => Promise<T>, E: typeof HeartlineError = HeartlineError): Promise<T> =>
    new Promise<T>((resolve, reject) =>
      run((c) => (c ? resolve(f(c)) : reject(new E('closed', 'dropped before the connection started')))),
    );
  const box: Calls = {
    q: [],
    f: {
      send: (data) => run((c) => c?.send(data)),
      sendWithAck: (data) => later((c) => c.sendWithAck(data)),
      upload: (blob, options) => later((c) => c.upload(blob, options), UploadError as typeof HeartlineError),
      close: (code, reason) => run((c) => c?.close(code, reason)),
      reconnect: () => run((c) => c?.reconnect()),
    },
  };
  return box;
};
