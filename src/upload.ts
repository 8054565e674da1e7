import { OptionError, UploadError } from './errors.js';
import type { UploadReason } from './errors.js';
import { field } from './protocol.js';
import type { Transport } from './transports/types.js';

export interface UploadOptions {
  /** Sent to the server in `up.open`. @default the File's name, else '' */
  name?: string;
  /** @default the Blob's type */
  type?: string;
  /** Any JSON value, handed to the server with the upload. */
  metadata?: unknown;
  /** Bytes per chunk. @default 1048576 (see README, "Uploads": chosen by benchmark) */
  chunkSize?: number;
  /**
   * WebSocket: no chunk is handed over while `bufferedAmount` is above this many bytes, nor above
   * what drains in about 25 ms at the rate measured so far (whichever is less), so heartbeats and
   * messages wait behind at most that much upload data and one chunk, on a fast link or a slow
   * one. HTTP: the same, for bytes of chunks queued for POST. @default 4194304 (see README,
   * "Uploads": chosen by benchmark)
   */
  highWaterMark?: number;
  /** Aborts the upload and tells the server to discard it; the promise rejects with reason 'aborted'. */
  signal?: AbortSignal;
  /** Called as bytes are handed to the network (`sent`) and stored by the server (`acknowledged`). */
  onProgress?: (progress: { sent: number; acknowledged: number; total: number }) => void;
  /** ms without any acknowledgement, while connected, after which the upload fails ('stalled'). @default 30000 */
  timeout?: number;
  /**
   * true: every chunk carries a check of its bytes (PROTOCOL.md section 7) that the server verifies
   * before storing it. Off by default, like tus and S3 checksums: offsets and sizes are always
   * verified, TCP/TLS guard the bytes, and `up.done` returns the whole file's SHA-256. The check
   * costs CPU (about 20 % of throughput on the CPU-bound loopback benchmark). @default false
   */
  verify?: boolean;
}

/** The server's `up.done` object (PROTOCOL.md section 7). */
export interface UploadResult {
  id: string;
  size: number;
  name?: string;
  type?: string;
  /** Hex SHA-256 of the whole file, as the server computed it. */
  sha256?: string;
  metadata?: unknown;
  [key: string]: unknown;
}

interface Up {
  id: string;
  blob: Blob;
  size: number;
  head: string;
  chunk: number;
  hwm: number;
  timeout: number;
  sent: number;
  acked: number;
  token: object | undefined; // the running pump's; replaced or cleared when it must stop
  timer: ReturnType<typeof setTimeout> | undefined;
  o: UploadOptions;
  done: (r: UploadResult) => void;
  fail: (e: UploadError) => void;
  unlisten: () => void;
}

const MAX_CHUNK = 1 << 26;
/** ms of upload data a transport's buffer holds at most (below highWaterMark): see the pump. */
const BUDGET = 25;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ids = 0;

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/**
 * The chunk's CHECK (PROTOCOL.md section 7), sent with `verify: true`: two running 32-bit sums over
 * its little-endian 32-bit words, a fraction of a per-chunk SHA-256's cost (which was 1.6 ms per MiB).
 */
export const chunkCheck = (bytes: Uint8Array): string => {
  const whole = bytes.byteLength >> 2;
  // Our buffers start at offset 0; copy anything else so the word view is aligned.
  const src = bytes.byteOffset & 3 ? bytes.slice() : bytes;
  // Int32 arithmetic (`| 0`) is the same sum mod 2^32 and stays on the engine's integer fast path.
  const words = new Int32Array(src.buffer, src.byteOffset, whole);
  let a = 0;
  let b = 0;
  for (let i = 0; i < whole; i++) (a = (a + words[i]!) | 0), (b = (b + a) | 0);
  if (bytes.byteLength & 3) {
    let tail = 0;
    for (let i = whole * 4; i < bytes.byteLength; i++) tail += bytes[i]! * 2 ** (8 * (i - whole * 4));
    (a = (a + tail) | 0), (b = (b + a) | 0);
  }
  return hex8(a) + hex8(b);
};

/** Room kept in front of every chunk for its header line, so header and bytes leave as one frame without a copy. */
const ROOM = 128; // `up.chunk ` + an ID (ours: about 20 characters; at most 64) + 2 numbers + a CHECK

/**
 * Reads a Blob from `from` in chunks into one reused buffer, `ROOM` bytes from its start: a BYOB
 * reader on `blob.stream()` where the engine has one (stream speed, a heap that stays flat), else
 * `slice().arrayBuffer()` copied in. Never `ws.send(blob.slice())`: Chromium pins every slice until
 * it is collected (MEASURED.md). The returned view is valid until the next call; every consumer
 * copies it synchronously.
 */
const chunks = (blob: Blob, from: number, size: number) => {
  let r: ReadableStreamBYOBReader | undefined;
  try {
    r = blob.slice(from).stream().getReader({ mode: 'byob' });
  } catch {
    // no byte stream here: slices it is
  }
  let buf = new ArrayBuffer(ROOM + size);
  let at = from;
  return {
    async next(n: number): Promise<Uint8Array> {
      let got = 0;
      if (!r) {
        const part = new Uint8Array(await blob.slice(at, (at += n)).arrayBuffer());
        new Uint8Array(buf, ROOM).set(part);
        got = part.byteLength;
      }
      while (r && got < n) {
        const { value, done } = await r.read(new Uint8Array(buf, ROOM + got, n - got));
        if (value) (buf = value.buffer as ArrayBuffer), (got += value.byteLength);
        if (done) break;
      }
      return new Uint8Array(buf, ROOM, got);
    },
    stop: () => r && r.cancel().catch(() => {}),
  };
};

/** The chunk frame: `head` written into the room just before `bytes` (a view from `chunks`). */
const framed = (head: string, bytes: Uint8Array): Uint8Array => {
  const f = new Uint8Array(bytes.buffer, bytes.byteOffset - head.length, head.length + bytes.byteLength);
  for (let i = 0; i < head.length; i++) f[i] = head.charCodeAt(i); // ASCII only: IDs are [A-Za-z0-9_-]
  return f;
};

/**
 * The uploads of one connection (PROTOCOL.md section 7). `link()` is the transport that may carry
 * upload frames now (open, heartline protocol), or undefined.
 */
export const createUploads = (link: () => Transport | undefined, report: (e: unknown) => void) => {
  const ups = new Map<string, Up>();
  /** Uploads waiting for room in the transport's buffer, oldest first: room goes to the head, so they take turns. */
  const line: Up[] = [];
  const leave = (u: Up): void => {
    const i = line.indexOf(u);
    if (i >= 0) line.splice(i, 1);
  };

  const end = (u: Up, reason: UploadReason, message: string, cause?: unknown, tell = true): void => {
    if (ups.get(u.id) !== u) return;
    ups.delete(u.id);
    clearTimeout(u.timer);
    leave(u);
    u.token = undefined;
    u.unlisten();
    const t = link();
    if (tell && t) t.control(`up.abort ${u.id}`);
    u.fail(new UploadError(reason, `upload ${u.id}: ${message}`, cause));
  };

  /** Every acknowledgement restarts the upload's deadline. */
  const watch = (u: Up): void => {
    clearTimeout(u.timer);
    u.timer = setTimeout(() => end(u, 'stalled', `no acknowledgement for ${u.timeout} ms`), u.timeout);
  };

  /** The app's callback must not break the upload's own bookkeeping (a throw mid-frame would strand it). */
  const progress = (u: Up): void => {
    try {
      if (u.o.onProgress) u.o.onProgress({ sent: u.sent, acknowledged: u.acked, total: u.size });
    } catch (e) {
      report(e);
    }
  };

  const open = (u: Up): void => {
    const t = link();
    if (!t) return;
    t.control(`up.open ${u.id}\n${u.head}`);
    watch(u);
  };

  /** Hands chunks from `u.sent` to the transport, keeping its buffer under the high-water mark. */
  const pump = async (u: Up, t: Transport): Promise<void> => {
    const token = (u.token = {});
    const live = () => u.token === token && link() === t;
    const src = chunks(u.blob, u.sent, u.chunk);
    let rate = 1e4; // bytes drained per ms (10 MB/s to start), learnt as we go
    try {
      while (u.sent < u.size && live()) {
        const bytes = await src.next(Math.min(u.chunk, u.size - u.sent));
        if (!bytes.byteLength) throw new Error('the file ended early');
        const check = u.o.verify ? chunkCheck(bytes) : '-';
        // The mark: what drains in BUDGET ms at the rate seen so far, at most highWaterMark, so a
        // heartbeat or message waits about that long behind upload data on a slow link as on a
        // fast one. No drain event exists: sleep about as long as the excess takes to drain, 1-16
        // ms. A sleep that ended with bytes still buffered measured the rate; one that ran dry
        // shows only that it is at least that fast.
        for (let b, mark; live() && ((b = t.buffered()) > (mark = Math.min(u.hwm, rate * BUDGET)) || (line.length && line[0] !== u)); ) {
          if (!line.includes(u)) line.push(u);
          const at = Date.now();
          await sleep(Math.min(16, Math.max(1, (b - mark) / rate)));
          const left = t.buffered();
          const ms = Math.max(1, Date.now() - at);
          if (b > left) rate = left ? (b - left) / ms : Math.max(rate, b / ms);
        }
        leave(u);
        if (!live()) return;
        t.chunk(framed(`up.chunk ${u.id} ${u.sent} ${check}\n`, bytes));
        u.sent += bytes.byteLength;
        progress(u);
      }
    } catch (e) {
      if (live()) end(u, 'read', 'the file could not be read', e);
    } finally {
      leave(u);
      void src.stop();
    }
  };

  const bad = (u: Up, frame: string) => end(u, 'bad-ack', `the server answered \`${frame}\``);

  return {
    start(blob: Blob, o: UploadOptions = {}): Promise<UploadResult> {
      return new Promise((done, fail) => {
        const { chunkSize = 1 << 20, highWaterMark = 1 << 22, timeout = 30000, signal } = o;
        const ok = (v: number, lo: number, hi: number) => typeof v == 'number' && v >= lo && v <= hi;
        if (!(typeof Blob == 'function' && blob instanceof Blob)) throw new OptionError('upload() takes a Blob or File');
        if (!ok(chunkSize, 1, MAX_CHUNK) || !ok(highWaterMark, 0, 2 ** 31) || !ok(timeout, 1, 2 ** 31 - 1)) {
          throw new OptionError(`upload options: chunkSize in [1, ${MAX_CHUNK}], highWaterMark in [0, 2^31], timeout in [1, 2^31-1] ms`);
        }
        if (signal && signal.aborted) return fail(new UploadError('aborted', 'upload aborted', signal.reason));
        const head = JSON.stringify({
          name: o.name ?? (blob as File).name ?? '',
          type: o.type ?? blob.type,
          size: blob.size,
          metadata: o.metadata,
        });
        const onAbort = () => end(u, 'aborted', 'aborted', signal!.reason);
        const u: Up = {
          id: `${Date.now().toString(36)}-${(++ids).toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
          blob,
          size: blob.size,
          head,
          chunk: chunkSize,
          hwm: highWaterMark,
          timeout,
          sent: 0,
          acked: 0,
          token: undefined,
          timer: undefined,
          o,
          done,
          fail,
          unlisten: () => signal && signal.removeEventListener('abort', onAbort),
        };
        if (signal) signal.addEventListener('abort', onAbort);
        ups.set(u.id, u);
        open(u);
      });
    },

    /** The connection (re)opened with the protocol: every unfinished upload asks where to go on. */
    resume: () => ups.forEach(open),

    /** The transport is gone: pumps stop, deadlines wait for the next connection. */
    pause: () =>
      ups.forEach((u) => {
        leave(u);
        clearTimeout(u.timer);
        u.token = undefined;
      }),

    /** Fails every upload (close(), a plain server, giving up). */
    stop: (reason: UploadReason, message: string) => ups.forEach((u) => end(u, reason, message, undefined, false)),

    /** An `up.*` frame from the server. Lies (PROTOCOL.md section 7) fail the upload, nothing else. */
    frame(type: string, fields: string[], rest: string, frame: string): void {
      const u = ups.get(fields[0]!);
      const t = link();
      if (!u || !t) return;
      const n = Number(fields[1]);
      const valid = Number.isInteger(n) && n >= u.acked && n <= u.size;
      if (type === 'up.offset') {
        if (!valid) return bad(u, frame);
        u.acked = u.sent = n;
        watch(u);
        progress(u);
        void pump(u, t);
      } else if (type === 'up.ack') {
        if (!valid || n > u.sent) return bad(u, frame);
        u.acked = n;
        watch(u);
        progress(u);
      } else if (type === 'up.done') {
        let r: UploadResult | undefined;
        try {
          r = JSON.parse(rest.slice(u.id.length + 1));
        } catch {
          // reported below
        }
        if (u.sent !== u.size || !r || r.size !== u.size) return bad(u, frame);
        u.acked = u.size;
        progress(u);
        ups.delete(u.id);
        clearTimeout(u.timer);
        u.unlisten();
        u.done(r);
      } else if (type === 'up.error') {
        end(u, 'server', `the server refused it (${fields[1]} ${field(fields[2]) || ''})`, undefined, false);
      }
    },
  };
};
