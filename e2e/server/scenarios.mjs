// The scenario table: one small handler per `ws://HOST/ws/<name>` route (see e2e/SERVER.md).
// A handler may have
//   refuse(params, state) -> { status, headers? } | null   decide before the upgrade is accepted
//   protocol(offered: Set, params) -> string | false        the subprotocol to select (default: the first offered)
//   open(conn, params)                                      behaviour once the WebSocket is open
// The heartline protocol is not here: `/hl/` is heartline/server (heartline.mjs).

export function num(params, name, fallback) {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? value : fallback;
}

/**
 * Echo every frame, text as text and binary as binary. Frames larger than `echoMax` bytes are
 * counted but not echoed (an upload-like one-way burst).
 */
function echo(conn) {
  const max = num(conn.params, 'echoMax', Infinity);
  conn.onMessage((data, isBinary) => {
    if (data.length <= max) conn.send(data, isBinary);
  });
}

/** Refuse the first `fail` upgrades of a key for this scenario, then behave like echo. */
function failFirst(name, defaults, headers = () => ({})) {
  return {
    refuse(params, state) {
      const fail = num(params, 'fail', defaults.fail);
      if (state.countScenarioUpgrade(name) > fail) return null;
      return { status: num(params, 'status', defaults.status), headers: headers(params) };
    },
    open: echo,
  };
}

/** A text frame whose payload is invalid UTF-8 (0xC3 starts a 2-byte sequence, 0x28 is not a continuation). */
const INVALID_UTF8_FRAME = Buffer.from([0x81, 0x02, 0xc3, 0x28]);
/** FIN + opcode 0x3, which RFC 6455 reserves: a client must fail the connection. */
const RESERVED_OPCODE_FRAME = Buffer.from([0x83, 0x00]);

/** Deterministic payload so the receiver can check an oversized frame byte for byte. */
export function pattern(bytes) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const out = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) out[i] = alphabet.charCodeAt(i % alphabet.length);
  return out;
}

export const scenarios = {
  echo: { open: echo },

  stream: {
    open(conn, params) {
      const count = num(params, 'count', 100);
      const interval = num(params, 'interval', 0);
      let n = num(params, 'from', 0);
      echo(conn);
      const emit = () => {
        n += 1;
        conn.send(JSON.stringify({ id: String(n), n }));
      };
      if (interval <= 0) {
        while (n < count) emit();
        return;
      }
      const tick = () => {
        emit();
        if (n < count) conn.later(interval, tick);
      };
      if (n < count) tick();
    },
  },

  close: {
    open(conn, params) {
      const code = num(params, 'code', 1000);
      const reason = params.get('reason') ?? '';
      const after = num(params, 'after', 0);
      if (after <= 0) return conn.close(code, reason);
      let seen = 0;
      conn.onMessage((data, isBinary) => {
        conn.send(data, isBinary);
        if (++seen >= after) conn.close(code, reason);
      });
    },
  },

  blackhole: {
    open(conn, params) {
      echo(conn);
      const after = num(params, 'after', 0);
      if (after <= 0) conn.blackhole();
      else conn.later(after, () => conn.blackhole());
    },
  },

  destroy: {
    open(conn, params) {
      echo(conn);
      const after = num(params, 'after', 0);
      if (after <= 0) conn.destroy();
      else conn.later(after, () => conn.destroy());
    },
  },

  refuse: {
    refuse: (params) => ({ status: num(params, 'status', 403) }),
  },

  flaky: failFirst('flaky', { fail: 2, status: 503 }),

  'retry-after': failFirst('retry-after', { fail: 1, status: 503 }, (params) => ({
    'Retry-After': String(num(params, 'seconds', 2)),
  })),

  slow: {
    open(conn) {
      echo(conn);
      conn.pauseReading();
    },
  },

  malformed: {
    open(conn, params) {
      const kind = params.get('kind') ?? 'json';
      conn.send('this is {not json');
      const bad = { utf8: INVALID_UTF8_FRAME, opcode: RESERVED_OPCODE_FRAME }[kind];
      if (!bad) return echo(conn);
      // `delay` ms between the good and the bad frame: with 0 both can share a TCP segment with
      // the handshake, and Firefox then fails the connection before reporting it open.
      const delay = num(params, 'delay', 0);
      if (delay <= 0) conn.writeRaw(bad);
      else conn.later(delay, () => conn.writeRaw(bad));
    },
  },

  oversized: {
    open(conn, params) {
      conn.send(pattern(num(params, 'bytes', 1048576)), false);
      echo(conn);
    },
  },
};
