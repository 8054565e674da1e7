import { WELCOME } from './kernel.js';
import type { Core } from './kernel.js';
import { HeartlineError } from './errors.js';
import { acked, renumber } from './outbox.js';
import { field, parseFrame } from './protocol.js';
import { remember } from './remember.js';
import type { TransportFactory } from './transports/types.js';

/** The longest session id a server may name (characters); it travels in every HTTP request's query. */
const MAX_SESSION = 256;
/** sessionStorage key prefix marking a URL whose WebSocket server turned out to be plain. */
const plainKey = 'heartline:plain:';

/** What the core asks of the heartline protocol (see {@link protocol}). */
export interface Protocol {
  /** Before an open: offers the protocol on `target` unless this server is known to be plain; true when offered. */
  ask(f: TransportFactory, target: URL): boolean;
  /** The channel is up and the protocol was offered: wait for the `welcome` (announced: the server said it speaks it). */
  opened(announced: boolean | undefined, credentials: unknown): void;
  /** A WebSocket frame. */
  data(raw: unknown): void;
  /** An event an HTTP transport parsed. */
  event(data: string, id: string | undefined, ev: string): void;
  /** A control frame (PROTOCOL.md section 2). */
  control(frame: string): void;
  /** The attempt or connection is gone. */
  drop(): void;
}

/**
 * The heartline protocol (PROTOCOL.md): negotiation (a protocol server speaks first with
 * `welcome`; anything else, or silence, means a plain server), the frames that carry messages
 * (`msg`, `bin`) and the control frames (`welcome`, `ready`, `ack`, `ping`, `retry`, `close`,
 * `up.*`). Without this module a connection treats every server as plain (heartline/ws).
 */
export const protocol = (k: Core): Protocol => {
  let bin: [string | undefined, string] | undefined; // a `bin` header waiting for its binary frame
  let byTimeout = false; // plain mode only because no welcome came in time: a late welcome reconnects
  let plain = ''; // the sessionStorage key that marks this WebSocket URL as a plain server's
  let tried = 0; // when the current transport was asked to open
  const wait = Math.min(k.hb ? k.hb.timeout : WELCOME, WELCOME);

  /** An acknowledgement from the server: one beyond what was sent is a lie, and loses nothing. */
  const ack = (n: number, frame: string): boolean =>
    n >= 0 && n <= k.outbox.s
      ? (acked(k.outbox, n), true)
      : (k.lost('network-error', new HeartlineError('malformed', `ack ${n} but only ${k.outbox.s} sent`, undefined, frame), 1002, 'bad ack'), false);

  /** A frame while negotiating: `welcome`/`ready` continue it, anything else means a plain server. */
  const negotiate = (data: unknown, id?: string, ev?: string): void => {
    if (typeof data == 'string' && /^(welcome|ready) /.test(data)) return control(data);
    if (k.name === 'websocket') remember(plain, '1'); // it spoke, and not the protocol: plain for this page session
    k.ready(false, k.ctx!.credentials);
    k.deliver(data, id, ev);
  };

  /** `welcome` and `ready`: a JSON object, checked before anything in it is used. */
  const hello = (type: string, rest: string, frame: string): void => {
    let w: { session?: unknown; ack?: unknown; resumed?: unknown; heartbeat?: unknown } | undefined;
    try {
      w = JSON.parse(rest);
    } catch {
      // reported below
    }
    const s = w && w.session;
    const a = w && w.ack;
    if (!w || typeof w != 'object' || Array.isArray(w) || (s !== undefined && !(typeof s == 'string' && s.length <= MAX_SESSION)) || (a !== undefined && !Number.isInteger(a))) {
      return k.lost('network-error', new HeartlineError('malformed', `${type} is not a valid object`, undefined, frame), 1002, 'bad ' + type);
    }
    if (typeof w.heartbeat == 'number') k.beat.announce(w.heartbeat);
    const { ctx } = k;
    if (type === 'welcome' && k.name === 'websocket') {
      // The server speaks first; the WebSocket hello carries what HTTP requests carry in headers.
      k.current!.control(`hello ${JSON.stringify({ v: 1, session: k.session, lastEventId: k.lastEventId, auth: ctx!.credentials })}`);
      return k.setTimer(wait, () => k.lost('connect-timeout'));
    }
    // Checked above: `s` is a string or undefined, `a` an integer or undefined.
    if (s !== k.session) {
      // A new session knows none of our sequence numbers: renumber what is still unacknowledged.
      k.session = ctx!.session = s as string | undefined;
      renumber(k.outbox);
    } else if (!ack((a as number) || 0, frame)) return;
    k.ready(true, undefined, w.resumed === true, ctx!.lastEventId);
  };

  /** A heartline control frame (PROTOCOL.md section 2). Malformed ones are reported, not thrown. */
  const control = (frame: string): void => {
    const { type, fields, rest } = parseFrame(frame);
    const n = +fields[0]!;
    if (type.startsWith('up.')) k.up && k.up.frame(type, fields, rest, frame);
    else if (type === 'welcome' || type === 'ready') hello(type, rest, frame);
    else if (type === 'ack') ack(n, frame);
    else if (type === 'ping') k.current?.control(`pong ${fields[0]}`);
    else if (type === 'retry') k.hint = n || 0; // clamped where it is used
    else if (type === 'close') k.lost('server-close', undefined, n || 1000, field(fields[1]) || '', true);
  };

  return {
    ask(f, target) {
      // Keyed without the query, which may carry a fresh token on every attempt.
      plain = plainKey + target.origin + target.pathname;
      tried = Date.now();
      // '1': it spoke and not the protocol (plain for the page session); 's': it was silent (ask, wait briefly).
      const ask = k.o.protocol !== 'plain' && remember(plain) !== '1';
      if (f.name === 'websocket' && ask) target.searchParams.set('heartline', '1');
      return ask;
    },
    /**
     * A protocol server speaks first (`welcome`); a WebSocket server that is silent until the
     * deadline is plain for this connection. Silence proves little (a slow protocol server), so
     * the next connections still ask, but wait only twice as long as the socket took to open (at
     * least 250 ms): a protocol server's welcome follows its handshake at once. An HTTP server that
     * announced the protocol but sends no welcome sits behind a buffering proxy: that attempt
     * fails and the next transport is tried.
     */
    opened(announced, credentials) {
      const ms = remember(plain) === 's' ? Math.min(wait, Math.max(250, 2 * (Date.now() - tried))) : wait;
      k.setTimer(ms, () => (announced ? k.lost('connect-timeout') : (remember(plain, 's'), (byTimeout = true), k.ready(false, credentials))));
    },
    data(data) {
      const late = byTimeout;
      byTimeout = false;
      if (typeof data != 'string') {
        const b = bin;
        bin = undefined;
        return b ? k.deliver(data, b[0], b[1]) : k.hl === undefined ? negotiate(data) : k.deliver(data);
      }
      if (k.hl) {
        const f = parseFrame(data);
        if (f.type !== 'msg' && f.type !== 'bin') return control(data);
        const id = field(f.fields[0]);
        const ev = field(f.fields[1]) || 'message';
        return f.type === 'bin' ? void (bin = [id, ev]) : k.deliver(f.payload || '', id, ev);
      }
      // A protocol server that was slower than the welcome deadline: connect again, in protocol mode.
      // Any other first frame proves a plain server: remembered for the page session.
      if (late) {
        if (data.startsWith('welcome ')) return remember(plain, '0'), k.lost('network-error', undefined, 1002, 'late welcome');
        remember(plain, '1');
      }
      if (k.hl === undefined) return negotiate(data);
      k.deliver(data);
    },
    event: (d, id, ev) => (k.hl === undefined ? negotiate(d, id, ev) : k.deliver(d, id, ev)),
    control,
    drop() {
      bin = undefined;
      byTimeout = false;
    },
  };
};
