import type { Data } from '../options.js';

/** What a transport reports back to the connection. Calls after close() must not happen. */
export interface TransportHandlers {
  open(): void;
  message(data: unknown): void;
  /** The transport is gone; `wasClean` is true when the server ended it deliberately. */
  close(code: number, reason: string, wasClean: boolean): void;
}

/**
 * The contract every transport implements: the connection imports no concrete transport beyond
 * what the entry point hands it, so unused ones tree-shake away.
 */
export interface Transport {
  /** Writes now and returns true, or returns false when the transport cannot take data (closing). */
  send(data: Data): boolean;
  /** Detaches every handler first (late events are ignored), then closes the underlying channel. */
  close(code: number, reason: string): void;
  /** Bytes accepted but not yet handed to the network. */
  readonly buffered: number;
}
