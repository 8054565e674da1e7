// The `ctx` every scenario gets: the test's key, URLs for the fixture server's routes, its control
// endpoints (same origin, plain fetch), tracked connections, and the driver handshake.
import { Recorder, within } from './lib.js';

export function makeContext({ key, build }) {
  const t0 = performance.now();
  const recorders = [];
  const notes = [];

  async function control(action, params = {}, { keyOverride, timeout = 10000 } = {}) {
    const query = new URLSearchParams(params).toString();
    const path = `/control/${encodeURIComponent(keyOverride ?? key)}/${action}${query ? `?${query}` : ''}`;
    const res = await fetch(path, { method: 'POST', cache: 'no-store', signal: AbortSignal.timeout(timeout) });
    const body = await res.json();
    if (!res.ok) throw new Error(`control ${action} answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  }

  return {
    key,
    build,
    now: () => performance.now(),
    note: (text) => notes.push(text),

    /** ws://host/ws/<route>?key=K&params — the key can be overridden for multi-key scenarios. */
    wsUrl(route, params = {}, keyOverride) {
      const query = new URLSearchParams({ key: keyOverride ?? key, ...params });
      return `ws://${location.host}/ws/${route}?${query}`;
    },

    /** http://host/hl/<stream>?key=K&params — the heartline protocol route (the transport is the client's choice). */
    hlUrl(params = {}, stream = 's', keyOverride) {
      const query = new URLSearchParams({ key: keyOverride ?? key, ...params });
      return `http://${location.host}/hl/${stream}?${query}`;
    },

    control,
    stats: (keyOverride) => control('stats', {}, { keyOverride }),
    /** Resolve once every named server counter is >= its value (server-side long poll). */
    waitStats: (goals, timeout = 5000, keyOverride) =>
      control('wait', { ...goals, timeout }, { keyOverride, timeout: timeout + 2000 }),

    /** connect() and record every event of the connection. */
    connect(Heartline, url, options) {
      const conn = Heartline.connect(url, options);
      const rec = new Recorder(conn, t0);
      recorders.push(rec);
      return rec;
    },

    /**
     * Only for proving that nothing happens (no further upgrade, no event): there is no event to
     * wait for, so the scenario waits a bounded, stated time.
     */
    quietFor: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),

    /**
     * Ask the test driver for something only it can do (e.g. 'offline', 'online'):
     * the page publishes `window.__heartline_wait = step` and the driver answers by calling
     * `window.__heartline_continue()`.
     */
    driver(step, timeout = 15000) {
      const answered = new Promise((resolve) => {
        window.__heartline_continue = (info) => {
          window.__heartline_wait = null;
          delete window.__heartline_continue;
          resolve(info);
        };
        window.__heartline_wait = step;
      });
      return within(answered, timeout, `driver step '${step}'`);
    },

    /** Events of every connection, oldest first, plus notes: attached to failures. */
    report() {
      return [...notes, ...recorders.flatMap((r, i) => r.summary().map((line) => `#${i} ${line}`))];
    },

    cleanup() {
      for (const rec of recorders) {
        rec.detach();
        try {
          rec.conn.close();
        } catch {
          // already closed
        }
      }
    },
  };
}
