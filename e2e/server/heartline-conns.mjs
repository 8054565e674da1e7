// The fixture's handles on heartline/server's connections, one per transport, with what the
// control actions do to them (e2e/SERVER.md): `close` (a close frame), `destroy` (the TCP
// connection), `blackhole` (silence, the connection kept open), `send` (a raw frame), reading
// paused and resumed. Each finds its session id in the module's own welcome / ready.
import { FaultSocket, FrameSniffer, textFrame } from './fault-socket.mjs';

/** The session id in a `ready` / `welcome` frame seen in the bytes the module writes. */
const SESSION = /(?:ready|welcome) \{[^\n]*?"session":"([A-Za-z0-9_-]+)"/;
/** A header field as PROTOCOL.md section 1 writes it. */
const field = (text) => (text ? encodeURIComponent(text) : '-');

class Conn {
  constructor(kp, transport, params) {
    this.kp = kp;
    this.state = kp.state;
    this.transport = transport;
    this.params = params;
    this.session = null;
    /** 'live' | 'blackholed' | 'gone' */
    this.mode = 'live';
    this.state.conns.add(this);
    this.state.changed();
  }

  /** Looks for the session id in what the module wrote; the key's `gen` starts once one is open. */
  sniff(chunk) {
    if (this.session || chunk == null) return;
    const m = SESSION.exec(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1'));
    if (!m) return;
    this.session = m[1];
    this.opened();
  }

  opened() {
    this.kp.current.set(this.session, this);
    this.kp.startGen(this.params);
  }

  /** Whether this is its session's live connection in the module (its latest welcome / ready). */
  get current() {
    return this.session !== null && this.kp.current.get(this.session) === this;
  }

  send() {}
  pauseReading() {}
  resumeReading() {}

  forget() {
    if (this.mode === 'gone') return;
    this.mode = 'gone';
    if (this.current) this.kp.current.delete(this.session);
    if (this.state.conns.delete(this)) this.state.changed();
  }
}

/** A WebSocket: the module gets a FaultSocket; the fixture sees the frames both ways. */
export class WsConn extends Conn {
  constructor(kp, real, head, params) {
    super(kp, 'websocket', params);
    const sniffer = new FrameSniffer((binary, bytes) => {
      this.state.recordFrame(bytes, binary);
      kp.clientFrame(binary, bytes);
    });
    this.socket = new FaultSocket(real, { inbound: (b) => sniffer.feed(b), outbound: (b) => this.sniff(b) });
    if (head.length) sniffer.feed(head); // the module gets `head` itself, with the upgrade
    real.once('close', () => this.forget());
  }

  /**
   * The module's own close (`disconnect`) for its session's live connection; for any other (no
   * `ready` yet, replaced) a close frame written under the module, and nothing of the module's
   * after it (its own close frame, answering the client's, would be a second one).
   */
  close(code = 1000, reason = '') {
    if (this.mode !== 'live') return;
    if (!(code >= 1000 && code <= 4999) || [1004, 1005, 1006, 1015].includes(code)) return this.destroy();
    if (this.current && this.kp.server.disconnect(this.session, code, reason)) return;
    const why = Buffer.from(reason).subarray(0, 120);
    const payload = Buffer.concat([Buffer.from([code >> 8, code & 255]), why]);
    this.socket.writeLast(Buffer.concat([Buffer.from([0x88, payload.length]), payload]));
    setTimeout(() => this.socket.cut(), 2000).unref(); // a peer that never answers the close frame
  }

  destroy() {
    this.socket.cut();
  }

  blackhole() {
    if (this.mode !== 'live') return;
    this.mode = 'blackholed';
    this.socket.blackhole();
    this.state.changed();
  }

  send(data) {
    if (this.mode === 'live') this.socket.writeRaw(textFrame(data));
  }

  pauseReading() {
    this.socket.pauseReading();
  }

  resumeReading() {
    this.socket.resumeReading();
  }
}

/**
 * A response the module writes to, intercepted: what it writes is sniffed for the session id and
 * swallowed while the fixture black-holes or mutes it. Returns the original `write` and `end`.
 */
function intercept(conn, res) {
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = (chunk, ...rest) => {
    if (conn.mode === 'blackholed' || conn.muted) return true;
    conn.sniff(chunk);
    return write(chunk, ...rest);
  };
  res.end = (chunk, ...rest) => {
    if (conn.mode === 'blackholed' || conn.muted) return res;
    conn.sniff(typeof chunk === 'function' ? null : chunk);
    return end(chunk, ...rest);
  };
  return { write, end };
}

/** An SSE response. `buffered`: only its headers go out, as behind a buffering proxy. */
export class SseConn extends Conn {
  constructor(kp, res, params) {
    super(kp, 'sse', params);
    this.res = res;
    this.muted = params.get('buffer') === '1';
    this.raw = intercept(this, res);
    res.once('close', () => this.forget());
  }

  close(code = 1000, reason = '') {
    if (this.mode !== 'live') return;
    if (!this.muted) this.raw.write(`event: heartline\ndata: close ${code} ${field(reason)}\n\n`);
    this.raw.end();
    this.muted = true; // the module's later writes go nowhere; the response's close detaches it
  }

  destroy() {
    this.res.socket?.destroy();
  }

  blackhole() {
    if (this.mode !== 'live') return;
    this.mode = 'blackholed';
    this.res.socket?.pause();
    this.state.changed();
  }

  send(data) {
    if (this.mode === 'live' && !this.muted) this.raw.write(`data: ${data}\n\n`);
  }
}

/**
 * A long-poll connection, across its polls. `close` goes through the module (its close frame rides
 * the held poll or the next one); `destroy` cuts the held poll and every later one, until the
 * client gives up on the connection and opens a new one.
 */
export class PollConn extends Conn {
  constructor(kp, params) {
    super(kp, 'longpoll', params);
    this.held = null;
    /** destroyed: every later poll of this connection is cut too (a browser retries a GET cut before its answer) */
    this.cut = false;
    this.idle = null;
  }

  opened() {
    this.kp.polls.get(this.session)?.forget();
    this.kp.polls.set(this.session, this);
    super.opened();
  }

  /**
   * A poll of this connection (the first one too). Returns false when the fixture answers it (or
   * holds it for good) instead of the module.
   */
  poll(res) {
    clearTimeout(this.idle);
    // Forgotten when not polled for the module's own idle bound (hold + 2..10 s) and then some.
    this.idle = setTimeout(() => this.forget(), this.kp.config.hold + 12000).unref();
    if (this.mode === 'blackholed') return res.socket?.pause(), false;
    if (this.cut) return res.socket?.destroy(), false;
    this.held = res;
    intercept(this, res);
    const writeHead = res.writeHead.bind(res);
    res.writeHead = (status, ...rest) => {
      if (status === 409) this.forget();
      return this.mode === 'blackholed' ? res : writeHead(status, ...rest);
    };
    res.once('close', () => this.held === res && (this.held = null));
    return true;
  }

  close(code = 1000, reason = '') {
    if (this.mode !== 'live') return;
    if (!this.current || !this.kp.server.disconnect(this.session, code, reason)) this.destroy();
  }

  destroy() {
    this.cut = true;
    this.held?.socket?.destroy();
  }

  blackhole() {
    if (this.mode !== 'live') return;
    this.mode = 'blackholed';
    this.held?.socket?.pause();
    this.state.changed();
  }

  forget() {
    clearTimeout(this.idle);
    if (this.kp.polls.get(this.session) === this) this.kp.polls.delete(this.session);
    super.forget();
  }
}
