// Per-key bookkeeping for the fixture server: every upgrade carries a `key` chosen by the test, so
// parallel tests only ever see (and control) their own sockets and counters.

const MESSAGE_LOG = 200;

/** @typedef {{ status: number, headers: object, remaining: number }} Refusal  remaining = Infinity until `accept` */

/** The heartline protocol's counters (heartline.mjs) of a key that has not used `/hl/` yet. */
const NO_PROTOCOL = () => ({ sessions: 0, delivered: [], duplicates: 0, gaps: 0, transports: { websocket: 0, sse: 0, longpoll: 0 } });

export class KeyState {
  constructor(key) {
    this.key = key;
    this.upgrades = 0;
    this.accepted = 0;
    this.refused = 0;
    this.received = 0;
    /** last MESSAGE_LOG text frames received, oldest first */
    this.messages = [];
    /** @type {Set<import('./conn.mjs').Conn>} */
    this.conns = new Set();
    /** @type {Refusal | null} set by the `refuse` control action */
    this.refusal = null;
    /** per-scenario upgrade counters, for routes like `flaky` that change behaviour over time */
    this.scenarioUpgrades = new Map();
    /** @type {Set<() => void>} */
    this.waiters = new Set();
    /** @type {import('./heartline.mjs').KeyProtocol | undefined} the `/hl/` route's heartline server */
    this.heartline = undefined;
  }

  /** The `{ status, headers }` (if any) the `refuse` control action imposes on the next attempt; consumes one. */
  takeRefusal() {
    if (!this.refusal) return null;
    const { status, headers } = this.refusal;
    this.refusal.remaining -= 1;
    if (this.refusal.remaining <= 0) this.refusal = null;
    return { status, headers };
  }

  countScenarioUpgrade(scenario) {
    const n = (this.scenarioUpgrades.get(scenario) ?? 0) + 1;
    this.scenarioUpgrades.set(scenario, n);
    return n;
  }

  recordFrame(data, isBinary) {
    this.received += 1;
    if (!isBinary) {
      this.messages.push(data.toString('utf8'));
      if (this.messages.length > MESSAGE_LOG) this.messages.shift();
    }
    this.changed();
  }

  get open() {
    return this.conns.size;
  }

  async stats() {
    return {
      upgrades: this.upgrades,
      accepted: this.accepted,
      refused: this.refused,
      open: this.open,
      received: this.received,
      messages: [...this.messages],
      ...((await this.heartline?.stats()) ?? NO_PROTOCOL()),
    };
  }

  /** Wake every pending `wait` control request so it can re-check its condition. */
  changed() {
    for (const wake of [...this.waiters]) wake();
  }
}

export class Registry {
  constructor() {
    /** @type {Map<string, KeyState>} */
    this.keys = new Map();
  }

  get(key) {
    let state = this.keys.get(key);
    if (!state) {
      state = new KeyState(key);
      this.keys.set(key, state);
    }
    return state;
  }

  /** Every live connection of every key (used by stop/restart). */
  *allConns() {
    for (const state of this.keys.values()) yield* state.conns;
  }
}
