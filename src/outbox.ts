import type { HeartlineError } from './errors.js';
import type { Data } from './options.js';

/** One outgoing message: [seq, data, resolve, reject] until acknowledged. */
export type Entry = [number, Data, (() => void) | undefined, ((e: HeartlineError) => void) | undefined];

/**
 * The outbox (seq/ack): every message not yet acknowledged, oldest first, as an array. `w` of
 * them are written on the current transport (the rest wait for it); `s` is the last sequence
 * number handed out. Plain data and module functions rather than methods, so every name minifies.
 */
export type Outbox = Entry[] & { s: number; w: number };

export const createOutbox = (): Outbox => Object.assign([], { s: 0, w: 0 });

/** Writes every entry not yet written, in order, until `write` refuses (a closing transport). */
export const flush = (b: Outbox, write: (data: Data, seq: number) => boolean): void => {
  while (b.w < b.length && write(b[b.w]![1], b[b.w]![0])) b.w++;
};

/** The server acknowledged everything up to `n`: resolve and forget those entries. */
export const acked = (b: Outbox, n: number): void => {
  let k = 0;
  for (let e; (e = b[k]) && e[0] <= n; k++) if (e[2]) e[2]();
  b.splice(0, k);
  b.w = Math.max(0, b.w - k);
};

/** A new session knows none of our sequence numbers: renumber what is still unacknowledged from 1. */
export const renumber = (b: Outbox): void => {
  b.s = 0;
  for (const e of b) e[0] = ++b.s;
};
