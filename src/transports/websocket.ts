import { FULL } from '../flags.js';
import type { Transport, TransportFactory } from './types.js';

/**
 * The native (or injected) WebSocket. Whether the server speaks the heartline protocol is settled
 * by the connection from the first frame (a `welcome`), never by a subprotocol (PROTOCOL.md
 * section 3: Chromium fails a handshake whose offered subprotocol the server ignores).
 */
export const websocket: TransportFactory = {
  name: 'websocket',
  supported: (o) => !!(o.WebSocket || (globalThis as { WebSocket?: unknown }).WebSocket),
  open({ url, o }, h) {
    const WS = o.WebSocket || (globalThis as unknown as { WebSocket: NonNullable<typeof o.WebSocket> }).WebSocket;
    const ws = new WS(url, o.protocols); // undefined counts as absent (WebIDL optional argument)
    ws.binaryType = o.binaryType || 'arraybuffer';
    ws.onopen = () => h.open(); // only the first frame tells a protocol server from a plain one
    ws.onmessage = (e) => h.data(e.data);
    ws.onclose = (e) => h.close(e.code, e.reason, e.wasClean);
    // readyState 1 = OPEN: a CLOSING socket would silently discard what it is given.
    const write = (d: unknown): boolean => ws.readyState === 1 && (ws.send(d as string), true);
    const t: Transport = {
      hl: false,
      send: (d, seq) =>
        !FULL || !t.hl ? write(d) : typeof d == 'string' ? write(`msg ${seq}\n${d}`) : write(`bin ${seq}`) && write(d),
      control: write,
      chunk: write,
      buffered: () => ws.bufferedAmount,
      close(code, reason) {
        ws.onopen = ws.onmessage = ws.onclose = null;
        try {
          ws.close(code, reason);
        } catch {
          // a reason over 123 bytes or an already failed socket: nothing left to release
        }
      },
    };
    return t;
  },
};
