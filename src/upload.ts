import { OptionError, UploadError } from './errors.js';
import type { UploadReason } from './errors.js';
import { num } from './options.js';
import { field } from './protocol.js';
import type { Transport } from './transports/types.js';
import { chunkCheck, chunks, framed } from './upload-chunks.js';

export { chunkCheck };

export interface UploadOptions {
  /** Sent to the server in `up.open`. @default the File's name, else '' */
  name?: string;
  /** @default the Blob's type */
  type?: string;
  /** Any JSON value, handed to the server with the upload. */
  metadata?: unknown;
  /** Bytes per chunk. @default 1048576 (see docs/GUIDE.md, "Uploads": chosen by benchmark) */
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
  /**
   * ms without any acknowledgement (`up.offset` or `up.ack`), counted from the call whether the
   * connection is open or not, after which the upload fails ('stalled'): an upload on a connection
   * that never opens, or is down longer than this, fails. It also fails ('stalled') when the server
   * names an offset it had already acknowledged more than 8 times in a row (a server
   * that answers every chunk with `up.offset ID 0` would otherwise keep it going for ever).
   * @default 30000
   */
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

/** What the connection does to one unfinished upload; its state lives in its closure. */
interface Up {
  /** The transport that may carry upload frames is (again) there: ask the server where to go on. */
  open(): void;
  /** The transport is gone: the pump stops (and leaves the line); the deadline keeps running. */
  pause(): void;
  /** Fails it; `abort`: ask the server to discard it. */
  end(reason: UploadReason, message: string, cause?: unknown, abort?: boolean): void;
  /** An `up.*` frame naming it. */
  frame(type: string, fields: string[], rest: string, frame: string): void;
}

const MAX_CHUNK = 1 << 26;
/**
 * `up.offset` frames in a row that name no byte beyond what was already acknowledged (a resume that
 * found nothing new, or a server restarting the upload) before it fails ('stalled'): each costs a
 * chunk resent. @default 8
 */
export const REPEATS = 8;
/** ms of upload data a transport's buffer holds at most (below highWaterMark): see the pump. */
const BUDGET = 25;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ids = 0;

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

  return {
    start(blob: Blob, o: UploadOptions = {}): Promise<UploadResult> {
      return new Promise((done, fail) => {
        const { chunkSize = 1 << 20, highWaterMark = 1 << 22, timeout = 30000, signal } = o;
        if (!(typeof Blob == 'function' && blob instanceof Blob)) throw new OptionError('upload() takes a Blob or File');
        const n = { chunkSize, highWaterMark, timeout };
        num(n, 'upload.', 'chunkSize', 1, MAX_CHUNK);
        num(n, 'upload.', 'highWaterMark', 0, 2 ** 31);
        num(n, 'upload.', 'timeout', 1);
        if (signal && signal.aborted) return fail(new UploadError('aborted', 'upload aborted', signal.reason));
        const size = blob.size;
        const id = `${Date.now().toString(36)}-${(++ids).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
        const head = JSON.stringify({ name: o.name ?? (blob as File).name ?? '', type: o.type ?? blob.type, size, metadata: o.metadata });
        let sent = 0; // the next byte to hand over: where the server's latest offset and the chunks since lead
        let acked = 0;
        let again = 0; // `up.offset` frames in a row that acknowledged nothing new
        let t: Transport | undefined; // where the pump writes; undefined stops it
        let pumping = false; // one pump per upload: a new offset or transport redirects the running one
        let timer: ReturnType<typeof setTimeout> | undefined;

        /** Takes it out of everything; false when it already was. */
        const settle = (): boolean => {
          if (!ups.delete(id)) return false;
          clearTimeout(timer);
          leave(u);
          t = undefined;
          if (signal) signal.removeEventListener('abort', onAbort);
          return true;
        };
        /** Fails it; `abort`: ask the server to discard it. */
        const end = (reason: UploadReason, message: string, cause?: unknown, abort = true): void => {
          if (!settle()) return;
          const l = link();
          if (abort && l) l.control(`up.abort ${id}`);
          fail(new UploadError(reason, `upload ${id}: ${message}`, cause));
        };

        /** Every acknowledgement restarts the upload's deadline, which runs connected or not. */
        const watch = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => end('stalled', `no acknowledgement for ${timeout} ms`), timeout);
        };

        /** The app's callback must not break the upload's own bookkeeping (a throw mid-frame would strand it). */
        const progress = (): void => {
          try {
            if (o.onProgress) o.onProgress({ sent, acknowledged: acked, total: size });
          } catch (e) {
            report(e);
          }
        };

        /**
         * Hands chunks from `sent` to `t`, keeping its buffer under the high-water mark. At most one
         * runs per upload: it follows `sent` and `t` as offsets and transports change, and stops
         * when `t` is no longer the open transport.
         */
        const pump = async (): Promise<void> => {
          if (pumping) return;
          pumping = true;
          const live = () => t === link() && t;
          const src = chunks(blob, chunkSize);
          let rate = 1e4; // bytes drained per ms (10 MB/s to start), learnt as we go
          try {
            for (let from, w; sent < size && live(); ) {
              const bytes = await src.next((from = sent), Math.min(chunkSize, size - from));
              if (!bytes.byteLength) throw new Error('the file ended early');
              const check = o.verify ? chunkCheck(bytes) : '-';
              // The mark: what drains in BUDGET ms at the rate seen so far, at most highWaterMark, so a
              // heartbeat or message waits about that long behind upload data on a slow link as on a
              // fast one. No drain event exists: sleep about as long as the excess takes to drain, 1-16
              // ms. A sleep that ended with bytes still buffered measured the rate; one that ran dry
              // shows only that it is at least that fast.
              for (let b, mark; (w = live()) && ((b = w.buffered()) > (mark = Math.min(highWaterMark, rate * BUDGET)) || (line[0] || u) !== u); ) {
                if (!line.includes(u)) line.push(u);
                const at = Date.now();
                await sleep(Math.min(16, Math.max(1, (b - mark) / rate)));
                const left = w.buffered();
                const ms = Math.max(1, Date.now() - at);
                if (b > left) rate = left ? (b - left) / ms : Math.max(rate, b / ms);
              }
              leave(u);
              // Unless an offset moved the upload meanwhile (then these bytes are not the next ones).
              if (w && sent === from) {
                w.chunk(framed(`up.chunk ${id} ${from} ${check}\n`, bytes));
                sent += bytes.byteLength;
                progress();
              }
            }
          } catch (e) {
            end('read', 'the file could not be read', e);
          } finally {
            pumping = false;
            leave(u);
            void src.stop();
          }
        };

        const bad = (frame: string) => end('bad-ack', `the server answered \`${frame}\``);
        const onAbort = () => end('aborted', 'aborted', signal!.reason);
        const u: Up = {
          open() {
            const l = link();
            if (l) l.control(`up.open ${id}\n${head}`);
          },
          pause: () => void (t = undefined),
          end,
          /**
           * Lies (PROTOCOL.md section 7) fail the upload, nothing else. The app's onProgress is called
           * last: whatever it does (abort, close, upload) finds the upload consistent.
           */
          frame(type, fields, rest, frame) {
            const l = link();
            if (!l) return;
            // Offsets are decimal integers: Number() would also take '', '0x1', '1e3', '-0'.
            const n = /^\d+$/.test(fields[1]!) ? +fields[1]! : -1;
            const ack = type === 'up.ack';
            if (ack || type === 'up.offset') {
              if (n < acked || n > (ack ? sent : size)) return bad(frame);
              if (n > acked) again = 0;
              else if (!ack && ++again > REPEATS) return end('stalled', `offset ${n} repeated`);
              acked = n;
              watch();
              if (!ack) (sent = n), (t = l), void pump();
            } else if (type === 'up.done') {
              let r: UploadResult | undefined;
              try {
                r = JSON.parse(rest.slice(id.length + 1));
              } catch {
                // reported below
              }
              if (sent !== size || !r || r.size !== size || r.id !== id) return bad(frame);
              // Its pump has stopped: every byte was handed over.
              acked = size;
              settle();
              done(r);
            } else {
              if (type === 'up.error') end('server', `the server refused it (${fields.slice(1, 3).map(field).join(' ')})`, undefined, false);
              return;
            }
            progress();
          },
        };
        if (signal) signal.addEventListener('abort', onAbort);
        ups.set(id, u);
        watch();
        u.open();
      });
    },

    /** The connection (re)opened with the protocol: every unfinished upload asks where to go on. */
    resume: () => ups.forEach((u) => u.open()),

    /** The transport is gone: pumps stop (and leave the line); deadlines keep running. */
    pause: () => ups.forEach((u) => u.pause()),

    /** Fails every upload (close(), a plain server, giving up). */
    stop: (reason: UploadReason, message: string) => ups.forEach((u) => u.end(reason, message, undefined, false)),

    /** An `up.*` frame from the server, for the upload it names. */
    frame(type: string, fields: string[], rest: string, frame: string): void {
      const u = ups.get(fields[0]!);
      if (u) u.frame(type, fields, rest, frame);
    },
  };
};
