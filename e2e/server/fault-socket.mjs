// Fault injection under heartline/server's WebSocket: the module reads and writes a FaultSocket,
// the fixture decides what of it reaches the real TCP socket (black-hole, paused reading, raw
// frames written between the module's, a cut), and watches the frames go by for its counters.
import { Duplex } from 'node:stream';

/** The length of a WebSocket frame header (RFC 6455 section 5.2), or 0 while incomplete. */
function headerOf(h) {
  if (h.length < 2) return null;
  const len7 = h[1] & 127;
  const masked = (h[1] & 128) !== 0;
  const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  if (h.length < size) return null;
  const length = len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? Number(h.readBigUInt64BE(2)) : len7;
  return { size, opcode: h[0] & 15, length, mask: masked ? h.subarray(size - 4, size) : null };
}

/**
 * Reads WebSocket frames from a byte stream (either direction) and reports each data frame's
 * opcode, length and first `keep` payload bytes (unmasked). Control frames are skipped.
 */
export class FrameSniffer {
  constructor(onFrame, keep = 512) {
    this.onFrame = onFrame;
    this.keep = keep;
    this.header = Buffer.alloc(0);
    this.frame = null;
  }

  feed(chunk) {
    let at = 0;
    while (at < chunk.length || (this.frame && this.frame.got === this.frame.length)) {
      if (!this.frame) {
        const before = this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + 14 - before)]);
        const h = headerOf(this.header);
        if (!h) {
          at = Math.min(chunk.length, at + 14 - before);
          continue;
        }
        at += h.size - before;
        this.frame = { ...h, mask: h.mask && Buffer.from(h.mask), got: 0, head: [] };
        this.header = Buffer.alloc(0);
      }
      const f = this.frame;
      const n = Math.min(f.length - f.got, chunk.length - at);
      const kept = f.head.reduce((s, b) => s + b.length, 0);
      if (kept < this.keep) f.head.push(chunk.subarray(at, at + Math.min(n, this.keep - kept)));
      f.got += n;
      at += n;
      if (f.got < f.length) continue;
      this.frame = null;
      if (f.opcode !== 1 && f.opcode !== 2) continue;
      const head = Buffer.concat(f.head);
      if (f.mask) for (let i = 0; i < head.length; i += 1) head[i] ^= f.mask[i & 3];
      this.onFrame(f.opcode === 2, head, f.length);
    }
  }
}

/** A server-to-client text frame (unmasked, unfragmented). */
export function textFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126) head[0] = 0x81;
  if (n >= 126 && n < 65536) (head[1] = 126), head.writeUInt16BE(n, 2);
  else if (n >= 65536) (head[1] = 127), head.writeBigUInt64BE(BigInt(n), 2);
  return Buffer.concat([head, payload]);
}

/**
 * The socket handed to heartline/server in place of the real one. Writes are forwarded whole
 * (`_writev`), so a raw frame written to the real socket in between never splits one of the
 * module's frames. `blackhole()` stops both directions with the TCP connection kept open: when the
 * module gives up on the silent peer and destroys this socket, the real one stays open.
 */
export class FaultSocket extends Duplex {
  /** @param {import('node:net').Socket} real @param {{ inbound?(b: Buffer): void, outbound?(b: Buffer): void }} taps */
  constructor(real, taps = {}) {
    super({ allowHalfOpen: false });
    this.real = real;
    this.taps = taps;
    /** 'live' | 'blackholed' */
    this.mode = 'live';
    this.held = false;
    this.muted = false;
    real.on('data', (data) => {
      if (this.mode !== 'live') return;
      taps.inbound?.(data);
      if (!this.push(data)) real.pause();
    });
    real.on('end', () => this.mode === 'live' && this.push(null));
    real.on('close', () => this.destroy());
    real.on('error', () => {});
  }

  get remoteAddress() {
    return this.real.remoteAddress;
  }

  _read() {
    if (this.mode === 'live' && !this.held) this.real.resume();
  }

  _writev(chunks, done) {
    if (this.mode !== 'live' || this.muted || this.real.destroyed) return done();
    const bytes = chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.taps.outbound?.(bytes);
    this.real.write(bytes, () => done());
  }

  _write(chunk, _encoding, done) {
    this._writev([{ chunk }], done);
  }

  _final(done) {
    if (this.mode === 'live') this.real.end();
    done();
  }

  _destroy(err, done) {
    if (this.mode === 'live') this.real.destroy();
    done(err);
  }

  /** Bytes straight onto the TCP connection (between two of the module's writes). */
  writeRaw(bytes) {
    if (this.mode === 'live' && !this.muted && !this.real.destroyed) this.real.write(bytes);
  }

  /** Bytes straight onto the TCP connection, and nothing the module writes after them. */
  writeLast(bytes) {
    this.writeRaw(bytes);
    this.muted = true;
  }

  blackhole() {
    this.mode = 'blackholed';
    this.real.pause();
  }

  pauseReading() {
    this.held = true;
    this.real.pause();
  }

  resumeReading() {
    this.held = false;
    if (this.mode === 'live') this.real.resume();
  }

  /** The TCP connection itself goes (no close frame). */
  cut() {
    this.real.destroy();
  }
}
