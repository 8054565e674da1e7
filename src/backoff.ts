/** The parts of the reconnect options the delay depends on. */
export interface BackoffOptions {
  initialDelay: number;
  maxDelay: number;
  factor: number;
  jitter: number;
}

/**
 * Delay in ms before retry number `attempt` (0-based): a value in `[(1 - jitter) * d, d]` where
 * `d = min(maxDelay, initialDelay * factor ** attempt)`. `jitter: 1` is "full jitter", which
 * spreads a crowd of clients that lost the same server evenly over the whole window.
 * Pure: `random` is injectable so tests can pin the draw.
 */
export const backoff = (attempt: number, o: BackoffOptions, random: () => number = Math.random): number => {
  const d = Math.min(o.maxDelay, o.initialDelay * o.factor ** attempt);
  return d - random() * o.jitter * d;
};

/** Upper bound for any delay a server asks for (1013, `retry:`, `Retry-After`): ten minutes. */
export const MAX_HINT = 600000;

/** Verdicts on a close code or HTTP status (numbers, so they minify to one character). */
export const RETRY = 0;
/** Retry once with fresh credentials, then stop. */
export const AUTH = 1;
/** Retry, but wait at least `initialDelay * 10`. */
export const LATER = 2;
/** Do not retry. */
export const STOP = 3;
export type Verdict = typeof RETRY | typeof AUTH | typeof LATER | typeof STOP;

/**
 * The default stop rules for a close code (HTTP statuses are mapped onto codes first: 204 → 4204,
 * 401/403/404/410 → 4401/4403/4404/4410, 429/503 → 1013). 1008 (policy violation) and 4401/4403
 * mean "your credentials are bad": one refresh, then stop. 1013 is "try again later". 4204 (the
 * SSE "stop"), 4404 and 4410 stop. Everything else — 1000 from the server, 1001, 1006, 1011, 1012, ... — is
 * retried, because the server or the network will most likely come back.
 */
export const classifyClose = (code: number): Verdict =>
  code === 1008 || code === 4401 || code === 4403
    ? AUTH
    : code === 1013
      ? LATER
      : code === 4204 || code === 4404 || code === 4410
        ? STOP
        : RETRY;
