import type { State } from './options.js';

/**
 * The steps that move a connection between states. Numbers, so they minify to one character.
 * The reason each step reports travels with it (the `state` event's `info.reason`).
 */
export const START = 0;
/** The transport is usable (plain: open; protocol: `ready`). */
export const OPEN = 1;
/** The attempt or connection is gone and another follows (after a backoff wait, or at once for a fallback). */
export const LOST = 2;
/** No further attempt: `close()`, a stop rule, or a paused page. */
export const END = 3;
export type Step = typeof START | typeof OPEN | typeof LOST | typeof END;

/**
 * The state table, as the one function every state change goes through (`go` in core.ts).
 *
 * | step | from | to | reasons |
 * |---|---|---|---|
 * | START | closed | connecting | `connect`, `pageshow`, `visible` |
 * | START | connecting, open, reconnecting | reconnecting | `user-reconnect`, `upgrade`, `online` |
 * | OPEN | connecting, reconnecting | open | `open` |
 * | LOST | connecting, open, reconnecting | reconnecting | `fallback`, or the close reason: `network-error`, `server-close`, `heartbeat-timeout`, `connect-timeout`, `auth-failed`, `offline` |
 * | END | any | closed | `user-close`, `stop`, `max-retries`, `auth-failed`, `hidden`, `pagehide` |
 *
 * Leaving a state (or taking a step that stays in it) clears the state's timer: every timer
 * belongs to exactly one state.
 */
export const next = (from: State, step: Step): State =>
  step === OPEN ? 'open' : step === END ? 'closed' : step === START && from === 'closed' ? 'connecting' : 'reconnecting';
