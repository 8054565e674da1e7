// In-page test helpers shared by every scenario. Plain browser ESM, no dependencies: the same
// code runs under Playwright (Chromium, Firefox) and WebKitWebDriver. Every wait is bounded.

/** Rejects with `what` timed out after `ms` unless `promise` settles first. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** A short, JSON-safe picture of an event argument for failure reports. */
function describe(value) {
  if (typeof value === 'string') return value.length > 60 ? `<string ${value.length} chars>` : value;
  if (value instanceof ArrayBuffer) return `<ArrayBuffer ${value.byteLength}>`;
  if (typeof Blob === 'function' && value instanceof Blob) return `<Blob ${value.size}>`;
  if (value instanceof Error) return `${value.name}(${value.code ?? ''}): ${value.message}`;
  if (value && typeof value === 'object') {
    try {
      const text = JSON.stringify(value);
      return text.length > 200 ? `${text.slice(0, 200)}…` : JSON.parse(text);
    } catch {
      return String(value);
    }
  }
  return value;
}

const EVENTS = ['open', 'message', 'state', 'reconnecting', 'close', 'error', 'heartbeat'];

/**
 * Records every event of one connection with its performance.now() time, so a scenario can ask
 * for "the first `open` after mark m" without racing the event.
 */
export class Recorder {
  constructor(conn, t0) {
    this.conn = conn;
    this.t0 = t0;
    /** @type {{ type: string, args: unknown[], t: number, index: number }[]} */
    this.list = [];
    this.waiters = new Set();
    this.offs = EVENTS.map((type) => conn.on(type, (...args) => this.push(type, args)));
  }

  push(type, args) {
    const record = { type, args, t: performance.now(), index: this.list.length };
    this.list.push(record);
    for (const check of [...this.waiters]) check(record);
  }

  /** Index of the next event: pass it as `since` to only look at what happens after now. */
  mark() {
    return this.list.length;
  }

  /** Events of `type` (any type when omitted) from index `since` on. */
  events(type, since = 0) {
    return this.list.slice(since).filter((r) => !type || r.type === type);
  }

  /** The first event of `type` at index >= `since` for which `where(...args)` holds. */
  wait(type, { where = () => true, since = 0, timeout = 5000 } = {}) {
    const match = (r) => r.index >= since && r.type === type && where(...r.args);
    const found = this.list.find(match);
    if (found) return Promise.resolve(found);
    let check;
    const seen = new Promise((resolve) => {
      check = (r) => match(r) && resolve(r);
      this.waiters.add(check);
    });
    return within(seen, timeout, `waiting for '${type}' since #${since}`).finally(() => this.waiters.delete(check));
  }

  /** Wait until `n` events of `type` (matching `where`) happened since `since`; returns them. */
  async waitCount(type, n, { where = () => true, since = 0, timeout = 5000 } = {}) {
    const deadline = performance.now() + timeout;
    let from = since;
    const got = [];
    while (got.length < n) {
      const r = await this.wait(type, { where, since: from, timeout: Math.max(1, deadline - performance.now()) });
      got.push(r);
      from = r.index + 1;
    }
    return got;
  }

  summary() {
    return this.list.map((r) => `${(r.t - this.t0).toFixed(0)}ms ${r.type} ${JSON.stringify(r.args.map(describe))}`);
  }

  detach() {
    for (const off of this.offs) off();
  }
}

/** Heartbeat options for the fixture echo server: the ping comes back as the pong. */
export const echoHeartbeat = (interval, timeout) => ({
  interval,
  timeout,
  message: 'ping',
  isPong: (d) => d === 'ping',
});

/**
 * Polls the server's counters until `ok(stats)`; bounded. For what the server's `wait` action
 * cannot wait for: counters going down (`open` after a close) and the `messages` list.
 */
export async function statsUntil(ctx, ok, what, timeout = 5000) {
  const deadline = performance.now() + timeout;
  for (;;) {
    const stats = await ctx.stats();
    if (ok(stats)) return stats;
    if (performance.now() > deadline) throw new Error(`${what}: timed out after ${timeout} ms, stats ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
