import type { Connection } from './connect.js';
import type { HeartlineError } from './errors.js';
import type { State, TransportName } from './options.js';

/** What a UI renders from a connection. A new object only when one of its fields changed. */
export interface Snapshot {
  readonly state: State;
  readonly transport: TransportName | undefined;
  readonly lastEventId: string;
  /** The latest error event, until the next one. */
  readonly error: HeartlineError | undefined;
}

/**
 * The `subscribe`/`getSnapshot` pair that framework bindings build on (React's
 * useSyncExternalStore, a Vue shallowRef, a Svelte store). The snapshot keeps its identity until
 * something in it changes, so it is safe to call on every render.
 */
export const observe = (conn: Connection) => {
  let error: HeartlineError | undefined;
  let snap: Snapshot | undefined;
  conn.on('error', (e) => void (error = e));
  return {
    subscribe(onChange: () => void): () => void {
      const offs = (['state', 'open', 'close', 'error'] as const).map((t) => conn.on(t, () => onChange()));
      return () => offs.forEach((off) => off());
    },
    getSnapshot(): Snapshot {
      const s = snap;
      const { state, transport, lastEventId } = conn;
      return s && s.state === state && s.transport === transport && s.lastEventId === lastEventId && s.error === error
        ? s
        : (snap = { state, transport, lastEventId, error });
    },
  };
};
