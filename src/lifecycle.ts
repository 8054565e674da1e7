/** Page and network events the connection reacts to. */
export type LifecycleEvent = 'online' | 'offline' | 'hidden' | 'visible' | 'pagehide' | 'pageshow' | 'resume';

/**
 * Subscribes to the page lifecycle and returns the unsubscribe function. Globals are read here,
 * at call time, never at import, and every one is optional: in SSR, Node or a worker the missing
 * ones are simply not watched. `pageshow` is reported only for pages restored from the
 * back/forward cache (`persisted`), which is when a connection must be rebuilt.
 */
export const watchLifecycle = (report: (e: LifecycleEvent) => void): (() => void) => {
  const g = globalThis as Partial<Window & typeof globalThis>;
  const doc = g.document;
  const onEvent = (e: Event): void => {
    const t = e.type;
    if (t === 'visibilitychange') report(doc!.visibilityState === 'hidden' ? 'hidden' : 'visible');
    else if (t !== 'pageshow' || (e as PageTransitionEvent).persisted) report(t as LifecycleEvent);
  };
  const each = (m: 'addEventListener' | 'removeEventListener') => {
    for (const t of ['online', 'offline', 'pagehide', 'pageshow']) if (g[m]) g[m](t, onEvent);
    for (const t of ['visibilitychange', 'resume']) if (doc) doc[m](t, onEvent);
  };
  each('addEventListener');
  return () => each('removeEventListener');
};
