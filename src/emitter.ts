import { HeartlineError, OptionError } from './errors.js';

type Listener = (...args: never[]) => void;

/**
 * A tiny typed event emitter. A listener that throws never breaks the connection: the error is
 * reported through the `error` event (and an `error` listener that throws goes to the host's
 * `reportError`), and the remaining listeners still run.
 */
export const createEmitter = <M extends { [K in keyof M]: Listener }>(
  types: (keyof M)[],
  logger?: (entry: { type: string; args: unknown[] }) => void,
) => {
  const sets = new Map<keyof M, Set<Listener>>(types.map((t) => [t, new Set()]));
  const emit = <K extends keyof M>(type: K, ...args: Parameters<M[K]>): void => {
    try {
      if (logger) logger({ type: type as string, args });
    } catch {
      // a debugging aid that throws is ignored: reporting it through `error` would log (and throw) again
    }
    const set = sets.get(type)!;
    // DOM semantics: listeners added during a dispatch wait for the next event (a `once` helper
    // that re-subscribes would otherwise run forever); removed ones are not called.
    for (const f of [...set]) {
      if (set.has(f)) try {
        (f as (...a: unknown[]) => void)(...args);
      } catch (e) {
        const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
        if (type !== 'error') emit('error' as K, ...([new HeartlineError('listener', `a ${type as string} listener threw`, e)] as Parameters<M[K]>));
        else if (report) report(e);
      }
    }
  };
  const on = <K extends keyof M>(type: K, listener: M[K]): (() => void) => {
    const set = sets.get(type);
    if (!set || typeof listener != 'function') {
      throw new OptionError(`on() takes an event name (${types.join(', ')}) and a function`);
    }
    set.add(listener);
    return () => void set.delete(listener);
  };
  return { emit, on };
};
