import { HeartlineError } from '../errors.js';
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
    let err: unknown; // what the last `error` event said (Node's `ws` names the cause: "Unexpected server response: 502")
    let up = false;
    ws.onopen = () => ((up = true), h.open()); // only the first frame tells a protocol server from a plain one
    ws.onmessage = (e) => h.data(e.data);
    // Always handled, also after close(): Node's `ws` throws an 'error' event nobody listens to.
    ws.onerror = (e) => void (err = (e as { error?: unknown }).error || e);
    ws.onclose = (e) =>
      h.close(e.code, e.reason, e.wasClean, up ? undefined : new HeartlineError('connect', 'the WebSocket handshake failed', err));
    // readyState 1 = OPEN: a CLOSING socket would silently discard what it is given.
    const write = (d: unknown): boolean => ws.readyState === 1 && (ws.send(d as string), true);
    const t: Transport = {
      hl: false,
      send: (d, seq) =>
        !t.hl ? write(d) : typeof d == 'string' ? write(`msg ${seq}\n${d}`) : write(`bin ${seq}`) && write(d),
      control: write,
      chunk: write,
      buffered: () => ws.bufferedAmount,
      close(code, reason) {
        ws.onopen = ws.onmessage = ws.onclose = null;
        ws.onerror = () => {};
        try {
          ws.close(code, reason);
        } catch {
          ws.close(); // close() validated code and reason: only an engine quirk gets here
        }
      },
    };
    return t;
  },
};
