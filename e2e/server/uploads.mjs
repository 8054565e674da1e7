// Resumable uploads (PROTOCOL.md section 7), the part every transport shares: the WebSocket route
// (protocol.mjs) and the POST channel (protocol-post.mjs) parse their frames and hand them here,
// then send the answer frames this returns. An upload lives in its key's Stream (so it survives
// the `restart` control action, like sessions) and is keyed by session id and upload ID; its bytes
// go to a file in a temporary directory of the server, written synchronously at the held offset,
// so memory stays bounded by one chunk however fast the client sends.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, writeSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { num } from './scenarios.mjs';

export const MAX_UPLOAD = 1024 * 1024 * 1024; // `maxUpload=` default: 1 GiB
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const OFFSET = /^(0|[1-9]\d*)$/;

/**
 * The server's upload directory: one per started server, created on the first upload (a server
 * that never takes one leaves nothing behind) and removed, with every file in it, by `remove()`
 * when the server stops.
 */
export class UploadFiles {
  constructor() {
    this.dir = null;
    /** uploads whose file is still open, so stopping can close them */
    this.open = new Set();
  }

  /** A new empty file for `upload`; its name is ours, never the client's ID. */
  create(upload) {
    this.dir ??= mkdtempSync(join(tmpdir(), 'heartline-uploads-'));
    upload.path = join(this.dir, randomBytes(9).toString('base64url'));
    upload.fd = openSync(upload.path, 'w');
    this.open.add(upload);
  }

  close(upload) {
    if (upload.fd === null) return;
    closeSync(upload.fd);
    upload.fd = null;
    this.open.delete(upload);
  }

  async remove() {
    for (const upload of [...this.open]) this.close(upload);
    const dir = this.dir;
    this.dir = null;
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** One upload: its declared file, the bytes held so far, their running SHA-256 and counters. */
class Upload {
  constructor(id, info) {
    this.id = id;
    this.name = info.name ?? null;
    this.type = info.type ?? null;
    this.size = info.size;
    this.metadata = info.metadata ?? null;
    this.path = null;
    this.fd = null;
    this.hash = createHash('sha256');
    this.received = 0;
    this.sha256 = null;
    this.done = false;
    this.aborted = false;
    this.error = null;
    this.chunks = 0;
    this.resends = 0;
    this.opens = 0;
    this.acks = 0; // honest `up.ack`s told so far, for the `upLie` modes
  }

  /** Append bytes at the held length; the whole file's digest is final once `size` bytes are held. */
  append(files, bytes) {
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at, this.received + at);
    this.hash.update(bytes);
    this.received += bytes.length;
    if (this.received === this.size) this.finish(files);
  }

  finish(files) {
    this.sha256 = this.hash.digest('hex');
    this.done = true;
    files.close(this); // the file stays until the server stops; nothing more is written to it
  }

  /** Close and delete the file: `up.abort`, or an `up.error` (the upload failed for good). */
  discard(files) {
    files.close(this);
    try {
      unlinkSync(this.path);
    } catch {}
  }

  /** `up.done`: `sha256` is the digest so far when an `upLie=early` server claims it too soon. */
  doneFrame() {
    const sha256 = this.sha256 ?? this.hash.copy().digest('hex');
    const { id, name, type, size, metadata } = this;
    return `up.done ${id} ${JSON.stringify({ id, name, type, size, sha256, metadata })}`;
  }

  record() {
    const { id, name, size, received, sha256, done, aborted, error, chunks, resends, opens } = this;
    return { id, name, size, received, sha256, done, aborted, error, chunks, resends, opens };
  }
}

const offsetFrame = (u) => `up.offset ${u.id} ${u.received}`;
const ackFrame = (u) => `up.ack ${u.id} ${u.received}`;
/** REASON percent-encoded; an ID that is not a valid one is encoded too, so the header stays one line. */
const errorFrame = (id, code, reason) => `up.error ${id ? encodeURIComponent(id) : '-'} ${code} ${encodeURIComponent(reason)}`;

/** `{name,type,size,metadata}` when well-formed (size a non-negative integer), else null. */
function parseInfo(json) {
  let info = null;
  try {
    info = JSON.parse(json);
  } catch {}
  if (!info || typeof info !== 'object' || !Number.isSafeInteger(info.size) || info.size < 0) return null;
  const text = (v) => v == null || typeof v === 'string';
  const object = info.metadata == null || (typeof info.metadata === 'object' && !Array.isArray(info.metadata));
  return text(info.name) && text(info.type) && object ? info : null;
}

/**
 * The `upLie=…` knobs: how a buggy server would answer instead, for the client's bad-input tests.
 * A lying ack is the whole answer (no `up.done` with it), so it is the frame a POST carries too.
 */
function lie(mode, upload, frames) {
  if (mode === 'silent') return frames.filter((f) => !/^up\.(ack|done) /.test(f));
  if (mode !== 'beyond' && mode !== 'back') return frames;
  const out = [];
  for (const f of frames) {
    if (!f.startsWith('up.ack ')) {
      out.push(f);
      continue;
    }
    upload.acks += 1;
    if (mode === 'beyond' && upload.acks === 1) return [`up.ack ${upload.id} ${upload.size + 1000}`];
    if (mode === 'back' && upload.acks === 3) return [`up.ack ${upload.id} 0`];
    out.push(f);
  }
  return out;
}

/**
 * An upload frame as bytes: the header line, `\n`, then the rest (the JSON of `up.open`, the raw
 * bytes of `up.chunk`), split at the first 0x0A byte. A chunk travels this way over both
 * transports: one WebSocket binary frame, one POST body.
 */
export function splitFrame(buf) {
  const nl = buf.indexOf(0x0a);
  const header = buf.toString('utf8', 0, nl < 0 ? buf.length : nl);
  return { header, fields: header.split(' '), rest: nl < 0 ? buf.subarray(buf.length) : buf.subarray(nl + 1), nl };
}

/** One key's uploads: the live ones by session and ID, and every one ever opened for `stats`. */
export class Uploads {
  constructor(files) {
    this.files = files;
    /** @type {Map<string, Upload>} `<session id>/<upload ID>` → upload */
    this.live = new Map();
    /** @type {Upload[]} */
    this.all = [];
  }

  find = (session, id) => this.live.get(`${session.id}/${id}`);

  /** Delete the upload's file and forget its ID in the session (stats keep its record). */
  drop(session, upload) {
    upload.discard(this.files);
    this.live.delete(`${session.id}/${upload.id}`);
  }

  /** An `up.error` ends the upload for good: its bytes go and its ID becomes unknown again. */
  fail(session, upload, code, reason) {
    upload.error = code;
    this.drop(session, upload);
    return [errorFrame(upload.id, code, reason)];
  }

  /** `up.open ID\n{json}`: create (an empty file) or resume; answered `up.offset` (+ `up.done`). */
  open(session, id, json, params) {
    if (!ID.test(id ?? '')) return [errorFrame(id, 400, 'bad upload id')];
    const info = parseInfo(json);
    let upload = this.find(session, id);
    if (!info) return upload ? this.fail(session, upload, 400, 'malformed') : [errorFrame(id, 400, 'malformed')];
    if (upload && upload.size !== info.size) return this.fail(session, upload, 400, 'size changed');
    if (!upload && info.size > num(params, 'maxUpload', MAX_UPLOAD)) return [errorFrame(id, 413, 'too large')];
    if (!upload) {
      upload = new Upload(id, info);
      this.files.create(upload);
      this.live.set(`${session.id}/${id}`, upload);
      this.all.push(upload);
      if (info.size === 0) upload.finish(this.files);
    }
    upload.opens += 1;
    // A complete upload (empty, or re-opened by a client that missed the `up.done`) gets it again.
    const frames = [offsetFrame(upload), ...(upload.done ? [upload.doneFrame()] : [])];
    if (params.get('upLie') === 'early' && !upload.done) frames.push(upload.doneFrame());
    return lie(params.get('upLie'), upload, frames);
  }

  /**
   * `up.chunk ID OFFSET CHECK` + bytes. A gap stores nothing and names the held length; a resend
   * (OFFSET below it) is verified whole, then only its new tail is appended.
   */
  chunk(session, id, offsetText, check, bytes, params) {
    if (!ID.test(id ?? '')) return [errorFrame(id, 400, 'bad upload id')];
    const upload = this.find(session, id);
    if (!upload) return [errorFrame(id, 404, 'unknown upload')];
    upload.chunks += 1;
    if (!OFFSET.test(offsetText ?? '') || !check) return this.fail(session, upload, 400, 'malformed');
    const offset = Number(offsetText);
    if (offset > upload.received) return [offsetFrame(upload)];
    if (offset + bytes.length > upload.size) return this.fail(session, upload, 413, 'past size');
    if (check !== '-' && check !== chunkCheck(bytes)) {
      return this.fail(session, upload, 422, 'checksum mismatch');
    }
    if (offset < upload.received) upload.resends += 1;
    const fresh = bytes.subarray(upload.received - offset);
    if (fresh.length) upload.append(this.files, fresh);
    const frames = [ackFrame(upload), ...(upload.done ? [upload.doneFrame()] : [])];
    return lie(params.get('upLie'), upload, frames);
  }

  /** A chunk too big for the transport to take (POST): it fails its upload like one past `size`. */
  chunkTooLarge(session, id) {
    const upload = ID.test(id ?? '') ? this.find(session, id) : undefined;
    return upload ? this.fail(session, upload, 413, 'chunk too large') : [errorFrame(id, 404, 'unknown upload')];
  }

  /** `up.abort ID`: the file is deleted and the upload forgotten. It has no answer. */
  abort(session, id) {
    const upload = this.find(session, id);
    if (upload) (upload.aborted = true), this.drop(session, upload);
    return [];
  }

  /**
   * An upload frame (already split by the transport): the answer frames, in order. `bytes` is the
   * chunk's content for `up.chunk`, `payload` the text after the header line for `up.open`.
   */
  frame(session, fields, payload, bytes, params) {
    const [type, id, offset, check] = fields;
    if (type === 'up.open') return this.open(session, id, payload, params);
    if (type === 'up.chunk') return this.chunk(session, id, offset, check, bytes, params);
    if (type === 'up.abort') return this.abort(session, id);
    return [];
  }

  stats = () => this.all.map((u) => u.record());
}

/**
 * The per-chunk CHECK of PROTOCOL.md section 7: two running 32-bit sums over the chunk read as
 * little-endian 32-bit words (a last partial word zero-padded), a = sum of words, b = sum of the
 * successive a values, both mod 2^32, as 16 lowercase hex digits (a then b).
 */
export function chunkCheck(bytes) {
  const whole = bytes.length >> 2;
  // A Uint32Array view needs a 4-byte aligned offset; pooled Buffers may not have one.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, whole);
  let a = 0;
  let b = 0;
  for (let i = 0; i < whole; i += 1) {
    a = (a + words[i]) >>> 0;
    b = (b + a) >>> 0;
  }
  if (bytes.length & 3) {
    let tail = 0;
    for (let i = whole * 4; i < bytes.length; i += 1) tail += bytes[i] * 2 ** (8 * (i - whole * 4));
    a = (a + tail) >>> 0;
    b = (b + a) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}
