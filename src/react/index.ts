// heartline/react: the only file that imports React. A thin layer over the core's observe()
// (useSyncExternalStore); the connection lifecycle stays in the core.
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { connect } from '../index.js';
import type { Connection, Data, DefaultOut, Events, JsonValue, Options, Snapshot, UrlSource } from '../index.js';
import { calls, initial, keyOf, replay, storeOf } from '../bindings.js';
import type { Calls, Functions } from '../bindings.js';

export type { Snapshot } from '../index.js';
export type { Functions } from '../bindings.js';

/**
 * What {@link useConnection} returns: the snapshot fields, the connection's functions (stable, and
 * usable from the first render: see {@link Functions}), and the connection. `In` and `Out` are the
 * connection's message types (see heartline's `Connect`). Under StrictMode, the discarded first
 * mount's waiting calls are dropped with its connection; its effects run again for the mount that stays.
 */
export interface UseConnection<In = any, Out = unknown> extends Snapshot, Functions<Out> {
  /** The hook's connection: undefined during SSR and the first render, then set for its lifetime. */
  connection: Connection<In, Out> | undefined;
}

type Box = Calls & { c?: Connection | undefined };

const none = () => () => {};

/** Calls `get()[key]…` at call time: function options always run the latest render's version. */
const track = <T>(v: T, get: () => any): T =>
  typeof v == 'function'
    ? (((...a: unknown[]) => get()(...a)) as T)
    : v && (v as object).constructor == Object
      ? (Object.fromEntries(
          // Constructors (WebSocket, EventSource) are kept as given: an arrow function cannot be `new`ed.
          Object.entries(v).map(([k, x]) => [k, /^[A-Z]/.test(k) ? x : track(x, () => get()[k])]),
        ) as T)
      : v;

const useSnapshot = (c: Connection | undefined | null, fallback: Snapshot, ready = (): boolean => true): Snapshot => {
  const st = c && storeOf(c);
  return useSyncExternalStore(st ? st.subscribe : none, () => (st && ready() ? st.getSnapshot() : fallback), () => fallback);
};

/**
 * The snapshot `{ state, transport, lastEventId, error }` of a connection created elsewhere (e.g.
 * handed down through context); re-renders only when a field changes. For `undefined` or `null` it
 * is `{ state: 'connecting', transport: undefined, lastEventId: '', error: undefined, lastError: undefined }`, which is
 * what useConnection's `connection` is before it exists.
 */
export function useConnectionState(connection: Connection | undefined | null): Snapshot {
  return useSnapshot(connection, initial({}));
}

/**
 * Calls `handler` for every `message` of `connection` (which may be undefined while it does not
 * exist yet). The latest handler is called: a new function on every render does not re-subscribe.
 */
export function useMessage<In>(connection: Connection<In, any> | undefined | null, handler: Events<In>['message']): void {
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => connection?.on('message', (data, meta) => latest.current(data, meta)), [connection]);
}

/**
 * Opens a connection for as long as the component is mounted and renders its state.
 *
 * - One connection per mounted hook, also under StrictMode: the connection is created in an
 *   effect with `lazy` and only started by the effect of the render that exposes it, so the
 *   double mount's discarded connection never starts, and `useMessage` handlers (in this component
 *   or its children) are subscribed before the first message can arrive.
 * - A new connection (the old one is closed) when the URL or an option changes by content. Not
 *   for a new object or function identity: inline `{ json: true }` or an inline `auth` is fine.
 *   Function options (`auth`, `logger`, `reconnect.shouldReconnect`, `heartbeat.isPong`, a URL
 *   function…) are always called in their latest version; constructors (`WebSocket`,
 *   `EventSource`) are taken from the first render. `lastEventId` is only where to start.
 * - Unmount closes it.
 * - Server-side rendering: nothing connects (effects do not run on the server); the snapshot is
 *   `state: 'connecting'` (`'closed'` with `lazy`) on the server and on the first client render,
 *   so hydration matches.
 * - Types: `useConnection<In, Out>(url, options)` as heartline's `connect<In, Out>`: `In` types
 *   `useMessage`'s data, `Out` what `send` takes (by default, once `In` is given, `Data` in text
 *   mode and `JsonValue` with `json: true`); without type arguments it is untyped.
 */
export function useConnection<In = any, Out = DefaultOut<In, Data>>(
  url: UrlSource,
  options?: Options & { json?: false },
): UseConnection<In, Out>;
export function useConnection<In = any, Out = DefaultOut<In, JsonValue>>(url: UrlSource, options: Options): UseConnection<In, Out>;
export function useConnection(url: UrlSource, options: Options = {}): UseConnection {
  const key = keyOf(url, options);
  const latest = useRef([url, options] as const);
  const [box] = useState<Box>(calls);
  const [cur, setCur] = useState<readonly [Connection, string]>();
  const conn = cur && cur[1] === key ? cur[0] : undefined;
  const snap = useSnapshot(conn, initial(options), () => box.s === conn);
  useEffect(() => {
    latest.current = [url, options];
  });
  useEffect(() => {
    const c = connect(track(url, () => latest.current[0]), { ...track(options, () => latest.current[1]), lazy: true });
    setCur([(box.c = c), key]);
    return () => {
      box.c = box.s = undefined;
      replay(box.q);
      c.close();
    };
  }, [key]);
  useEffect(() => {
    // The connection this render shows, and still the hook's own (not one a cleanup has closed).
    if (conn && conn === box.c) {
      box.s = conn;
      if (!options.lazy && conn.state === 'closed') conn.reconnect(); // starts a connection never started
      replay(box.q, conn);
    }
  }, [conn]);
  return { ...snap, ...box.f, connection: conn };
}
