// One accepted WebSocket, wrapped so scenario handlers and control actions can misbehave on
// purpose (black-hole, pause, raw frames) without reaching into `ws` internals.
import { WebSocket } from 'ws';

export class Conn {
  /**
   * @param {WebSocket} ws
   * @param {import('node:net').Socket} socket the raw TCP socket under `ws`
   * @param {import('./state.mjs').KeyState} state
   * @param {URLSearchParams} params the upgrade URL's query
   */
  constructor(ws, socket, state, params) {
    this.ws = ws;
    this.socket = socket;
    this.state = state;
    this.params = params;
    /** 'live' | 'blackholed' | 'gone' */
    this.mode = 'live';
    /** @type {((data: Buffer, isBinary: boolean) => void) | null} */
    this.handler = null;
    this.timers = new Set();
    ws.on('message', (data, isBinary) => {
      state.recordFrame(data, isBinary);
      if (this.mode === 'live') this.handler?.(data, isBinary);
    });
    const gone = () => this.forget();
    ws.on('close', gone);
    socket.once('close', gone);
  }

  /** Replace the inbound-frame handler (scenario behaviour). */
  onMessage(fn) {
    this.handler = fn;
  }

  /** setTimeout owned by this connection: cleared when it goes away or is black-holed. */
  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.mode === 'live') fn();
    }, ms);
    this.timers.add(t);
  }

  get writable() {
    return this.mode === 'live' && this.ws.readyState === WebSocket.OPEN;
  }

  send(data, binary = false) {
    if (this.writable) this.ws.send(data, { binary });
  }

  /** Write bytes straight onto the TCP socket, bypassing `ws` framing (malformed frames). */
  writeRaw(bytes) {
    if (this.writable) this.socket.write(bytes);
  }

  /** Close with a close frame. Codes `ws` refuses to send (1005, 1006, ...) fall back to destroy. */
  close(code = 1000, reason = '') {
    if (!this.writable) return;
    try {
      this.ws.close(code, reason);
    } catch {
      this.destroy();
    }
  }

  /** Drop the TCP connection without a close frame. */
  destroy() {
    this.socket.destroy();
  }

  /**
   * The half-open case: stop reading and never write again, but keep the TCP connection open
   * (no FIN, no close frame) until the server stops. The peer sees plain silence.
   */
  blackhole() {
    if (this.mode !== 'live') return;
    this.mode = 'blackholed';
    this.clearTimers();
    this.socket.pause();
    this.state.changed();
  }

  /** Stop reading so the peer's send buffers (and `bufferedAmount`) fill up. */
  pauseReading() {
    if (this.mode === 'live') this.socket.pause();
  }

  resumeReading() {
    if (this.mode === 'live') this.socket.resume();
  }

  clearTimers() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  forget() {
    if (this.mode === 'gone') return;
    this.mode = 'gone';
    this.clearTimers();
    if (this.state.conns.delete(this)) this.state.changed();
  }
}
