// heartline/vue: the only file that imports Vue. The same core contract as heartline/react
// (observe(): subscribe + stable snapshot), pushed into a shallowRef.
import { getCurrentInstance, onMounted, onScopeDispose, shallowRef, toRef, toValue, watch } from 'vue';
import type { MaybeRefOrGetter, Ref, ShallowRef } from 'vue';
import { connect } from '../index.js';
import type { Connection, Data, DefaultOut, Events, HeartlineError, JsonValue, Options, Snapshot, State, TransportName, UrlSource } from '../index.js';
import { calls, initial, keyOf, replay, storeOf } from '../bindings.js';
import type { Functions } from '../bindings.js';

export type { Snapshot } from '../index.js';
export type { Functions } from '../bindings.js';

/**
 * What {@link useConnection} returns: readonly refs of the snapshot fields, the connection's
 * functions (plain functions, usable during setup before the connection exists: see
 * {@link Functions}), and the connection. `In` and `Out` are the connection's message types (see
 * heartline's `Connect`).
 */
export interface UseConnection<In = any, Out = unknown> extends Functions<Out> {
  state: Readonly<Ref<State>>;
  transport: Readonly<Ref<TransportName | undefined>>;
  lastEventId: Readonly<Ref<string>>;
  /** The current error: the latest error event since the connection last opened (cleared on `open`). */
  error: Readonly<Ref<HeartlineError | undefined>>;
  /** The latest error event, kept across `open`, until the next one. */
  lastError: Readonly<Ref<HeartlineError | undefined>>;
  /** The whole snapshot, one object that changes identity when a field changes. */
  snapshot: Readonly<ShallowRef<Snapshot>>;
  /** undefined until the component is mounted (never set during SSR). */
  connection: Readonly<ShallowRef<Connection<In, Out> | undefined>>;
}

/**
 * Opens a connection for the lifetime of the current component or effect scope.
 *
 * - In a component it connects when mounted (never during server-side rendering; the snapshot is
 *   then `state: 'connecting'`, or `'closed'` with `lazy`, so hydration matches); in a bare
 *   `effectScope()` at once. It closes on `onScopeDispose`.
 * - `url` and `options` may be refs or getters: when the URL or an option changes by content (see
 *   heartline/react for the rule) the connection is replaced. Function options are taken from the
 *   value at creation; read reactive state inside them, and they stay current.
 * - Types: `useConnection<In, Out>(url, options)` as heartline's `connect<In, Out>`: `In` types
 *   `useMessage`'s data, `Out` what `send` takes (by default, once `In` is given, `Data` in text
 *   mode and `JsonValue` with `json: true`); without type arguments it is untyped.
 */
export function useConnection<In = any, Out = DefaultOut<In, Data>>(
  url: MaybeRefOrGetter<UrlSource>,
  options?: MaybeRefOrGetter<Options & { json?: false }>,
): UseConnection<In, Out>;
export function useConnection<In = any, Out = DefaultOut<In, JsonValue>>(
  url: MaybeRefOrGetter<UrlSource>,
  options: MaybeRefOrGetter<Options>,
): UseConnection<In, Out>;
export function useConnection(url: MaybeRefOrGetter<UrlSource>, options: MaybeRefOrGetter<Options> = {}): UseConnection {
  const connection = shallowRef<Connection>();
  const snapshot = shallowRef(initial(toValue(options)));
  const box = calls();
  let off = (): void => {};
  const stop = (): void => {
    off();
    connection.value?.close();
  };
  const open = (): void => {
    stop();
    const o = toValue(options);
    const c = connect(toValue(url), { ...o, lazy: true });
    const st = storeOf(c);
    off = st.subscribe(() => (snapshot.value = st.getSnapshot()));
    connection.value = c; // sync watchers (useMessage) subscribe here, before the connection starts
    if (!o.lazy && c.state === 'closed') c.reconnect(); // starts it
    snapshot.value = st.getSnapshot();
    replay(box.q, (box.s = c));
  };
  if (getCurrentInstance()) onMounted(open);
  else open();
  // Not immediate: on the server, a non-immediate watcher never runs.
  watch(
    () => keyOf(toValue(url), toValue(options)),
    () => connection.value && open(),
  );
  onScopeDispose(() => (stop(), replay(box.q)));
  const field = <K extends keyof Snapshot>(k: K) => toRef(() => snapshot.value[k]);
  return {
    state: field('state'),
    transport: field('transport'),
    lastEventId: field('lastEventId'),
    error: field('error'),
    lastError: field('lastError'),
    snapshot,
    ...box.f,
    connection,
  };
}

/** Calls `handler` for every `message` of the connection (a ref or getter; may hold undefined), in the current scope. */
export function useMessage<In>(connection: MaybeRefOrGetter<Connection<In, any> | undefined>, handler: Events<In>['message']): void {
  watch(
    () => toValue(connection),
    (c, _, onCleanup) => c && onCleanup(c.on('message', handler)),
    { immediate: true, flush: 'sync' },
  );
}
