import type { Transport, TransportHandlers } from './types.js';
import type { WebSocketLike } from '../options.js';

/** Opens a native (or injected) WebSocket behind the transport contract. May throw (bad URL). */
export const openWebSocket = (
  WS: WebSocketLike,
  url: string,
  protocols: string | string[] | undefined,
  binaryType: BinaryType,
  h: TransportHandlers,
): Transport => {
  const ws = protocols === undefined ? new WS(url) : new WS(url, protocols);
  ws.binaryType = binaryType;
  ws.onopen = () => h.open();
  ws.onmessage = (e) => h.message(e.data);
  ws.onclose = (e) => h.close(e.code, e.reason, e.wasClean);
  return {
    // readyState 1 = OPEN: a CLOSING socket would silently discard what it is given.
    send: (d) => ws.readyState === 1 && (ws.send(d as BufferSource), true),
    close(code, reason) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(code, reason);
      } catch {
        // a reason over 123 bytes or an already failed socket: nothing left to release
      }
    },
    get buffered() {
      return ws.bufferedAmount;
    },
  };
};

/** ws(s) for the WebSocket transport, keeping host, path and query; relative URLs resolve against the page. */
export const toWebSocketUrl = (u: string | URL): string => {
  const x = new URL(u, (globalThis as { location?: { href: string } }).location?.href);
  x.protocol = x.protocol.replace('http', 'ws');
  return x.href;
};
