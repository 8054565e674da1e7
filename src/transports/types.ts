import type { HeartlineError } from '../errors.js';
import type { Data, Options, TransportName } from '../options.js';

/** What one attempt knows when it opens a transport. The connection updates `session`. */
export interface Context {
  /** The resolved URL for this transport (ws(s) for WebSocket, http(s) for the others). */
  url: string;
  o: Options;
  lastEventId: string;
  /** The heartline session, once a `welcome` named it. */
  session: string | undefined;
  /** What `auth()` returned for this attempt. */
  credentials: unknown;
}

/** What a transport reports back. No call may follow close() on the transport. */
export interface Handlers {
  /**
   * The channel is up. `heartline`: true when the server announced the protocol (a `welcome`
   * must follow), false when it is a plain server, undefined when only a `welcome` can tell.
   */
  open(heartline?: boolean): void;
  /** A WebSocket frame, decoded by the connection according to the mode. */
  data(raw: unknown): void;
  /** An application message the transport already parsed; `id` undefined keeps the last event id. */
  event(data: string, id: string | undefined, event: string): void;
  /** A last event id committed without an event (an SSE block with `id` but no `data`). */
  id?(id: string): void;
  /** A heartline control frame, e.g. `welcome {...}`, `ack 3`, `retry 5000`. */
  control(frame: string): void;
  /** The answer to a POST (`ack N`): a control frame that is no proof of the stream's life. */
  reply(frame: string): void;
  /** Bytes arrived (a keep-alive comment, a chunk): proof of life. */
  alive(): void;
  /** The channel is gone. `hint`: the least ms to wait before retrying (Retry-After). */
  close(code: number, reason: string, wasClean: boolean, error?: HeartlineError, hint?: number): void;
}

/**
 * The contract every transport implements: the connection imports no concrete transport beyond
 * the list it is handed, so unused ones tree-shake away.
 */
export interface Transport {
  /** Set by the connection once the server confirmed the heartline protocol (a `welcome`). */
  hl: boolean;
  /**
   * Writes an application message: framed with its sequence number once `hl` is set, as is
   * before. Returns false when the transport cannot take data now (a closing socket).
   */
  send(data: Data, seq: number): boolean;
  /** Writes a heartline control frame (`hello {...}`, `ping 3`, `pong 3`, `bye`). */
  control(frame: string): void;
  /**
   * Writes an upload chunk frame: the `up.chunk` header line, LF, then the bytes (PROTOCOL.md
   * section 7), one WebSocket binary frame or one POST body. Copied before this returns.
   */
  chunk(frame: Uint8Array): void;
  /** Bytes written but not yet on the network (WebSocket `bufferedAmount`; queued POST bodies). */
  buffered(): number;
  /** Detaches every handler first (late events are ignored), then closes the channel. */
  close(code: number, reason: string): void;
}

export interface TransportFactory {
  name: TransportName;
  /** Feature detection, at call time (never at import). */
  supported(o: Options): boolean;
  open(ctx: Context, h: Handlers): Transport;
}
