/**
 * Two guards every transport shares: a deadline on the application's hooks, and the count of
 * concurrent connections and requests per client address.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { HookTimeout } from './options.js';

/** What schedules the deadline: `Core.later` (a tracked, unref'd timeout; returns its cancel). */
interface Timers {
  later(ms: number, fn: () => void): () => void;
}

/** `fn()`'s result, or a rejection with a {@link HookTimeout} when it has not settled within `ms`. */
export function within<T>(timers: Timers, hook: HookTimeout['hook'], ms: number, fn: () => T | Promise<T>): Promise<T> {
  let value: T | Promise<T>;
  try {
    value = fn();
  } catch (e) {
    return Promise.reject(e);
  }
  // A hook that returned a plain value has settled: no timer (the common synchronous hook costs none).
  if (typeof (value as { then?: unknown } | null)?.then !== 'function') return Promise.resolve(value);
  return new Promise<T>((resolve, reject) => {
    const cancel = timers.later(ms, () => reject(new HookTimeout(hook, ms)));
    Promise.resolve(value)
      .then(
        (v) => (cancel(), resolve(v)),
        (e: unknown) => (cancel(), reject(e)),
      );
  });
}

/** Distinct addresses remembered as already reported (then the memory starts over). */
const REPORTED_KEPT = 1000;

/** Concurrent connections and requests per client address, bounded by `maxConnectionsPerAddress`. */
export class Addresses {
  private readonly counts = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly max: number,
    private readonly header: string | undefined,
    private readonly report: (error: Error) => void,
  ) {}

  /** The client's address: the trusted header's last entry when configured and present, else the socket's. */
  addressOf(req: IncomingMessage): string {
    const value = this.header ? req.headers[this.header.toLowerCase()] : undefined;
    const text = Array.isArray(value) ? value.at(-1) : value;
    const last = text?.slice(-256).split(',').at(-1)?.trim();
    return last || req.socket.remoteAddress || '';
  }

  /** Counts one connection or request of `req`'s address: its release function, or null past the limit. */
  admit(req: IncomingMessage): (() => void) | null {
    const address = this.addressOf(req);
    const n = this.counts.get(address) ?? 0;
    if (n >= this.max) {
      if (!this.reported.has(address)) {
        if (this.reported.size >= REPORTED_KEPT) this.reported.clear();
        this.reported.add(address);
        this.report(new Error(`heartline/server: ${address} holds ${n} connections (limits.maxConnectionsPerAddress); behind a reverse proxy set addressHeader`));
      }
      return null;
    }
    this.counts.set(address, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(address) ?? 1) - 1;
      if (left > 0) this.counts.set(address, left);
      else this.counts.delete(address);
    };
  }
}
