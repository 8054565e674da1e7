import type { Connection } from './connect.js';
import type { HeartlineError } from './errors.js';
import type { State, TransportName } from './options.js';

/** What a UI renders from a connection. A new object only when one of its fields changed. */
export interface Snapshot {
  readonly state: State;
  readonly transport: TransportName | undefined;
  readonly lastEventId: string;
  /**
   * The current error: the latest `error` event since the connection last opened. Cleared on
   * `open`, so a status line shows it only while it still applies (a failed attempt's error
   * disappears once a reconnect succeeds); an error while open (a listener threw, a malformed
   * message) stays until the next open or the next error.
   */
  readonly error: HeartlineError | undefined;
  /** The latest `error` event, kept across `open` (for logs and diagnostics), until the next one. */
  readonly lastError: HeartlineError | undefined;
}

/**
 * The `subscribe`/`getSnapshot` pair that framework bindings build on (React's
 * useSyncExternalStore, a Vue shallowRef, a Svelte store). The snapshot keeps its identity until
 * something in it changes, so it is safe to call on every render.
 */
export const observe = (conn: Connection) => {
  let error: HeartlineError | undefined, lastError: HeartlineError | undefined;
  let snap: Snapshot | undefined;
  // Registered before any subscriber: the snapshot a subscriber reads on `open` is already clear.
  conn.on('error', (e) => void (error = lastError = e));
  conn.on('open', () => void (error = undefined));
  return {
    subscribe(onChange: () => void): () => void {
      const offs = (['state', 'open', 'close', 'error'] as const).map((t) => conn.on(t, () => onChange()));
      return () => offs.forEach((off) => off());
    },
    getSnapshot(): Snapshot {
      const { state, transport, lastEventId } = conn;
      const next: Snapshot = { state, transport, lastEventId, error, lastError };
      for (const k in next) if (!snap || snap[k as keyof Snapshot] !== next[k as keyof Snapshot]) return (snap = next);
      return snap!;
    },
  };
};
