// What the framework adapters (src/react, src/vue) share. Framework-neutral: it only knows the
// core's public surface, which the adapters' builds import from the core file, not a copy of it.
import { observe } from './index.js';
import type { Connection, Options, Snapshot, State, UrlSource } from './index.js';

const idle = (state: State): Snapshot => ({ state, transport: undefined, lastEventId: '', error: undefined });
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
