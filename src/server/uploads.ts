/**
 * Resumable uploads (PROTOCOL.md section 7) for every transport: the transports split the frames,
 * this answers them. An upload's bytes go to the {@link UploadStore}; its running SHA-256 and the
 * held length live here, in this process.
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Core } from './core.js';
import { within } from './guards.js';
import { HookTimeout } from './options.js';
import type { SharedUploads, UploadFile } from './engine.js';
import { chunkCheck } from './frames.js';
import type { Session } from './session.js';

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const OFFSET = /^(0|[1-9]\d{0,15})$/;
/** Finished uploads remembered per session, so a client that missed `up.done` gets it again. */
const DONE_KEPT = 64;

/** One upload of a session. */
export interface Upload {
  id: string;
  size: number;
  name: string | null;
  type: string | null;
  metadata: Record<string, unknown> | null;
  file: UploadFile | null;
  hash: Hash;
  received: number;
  /** The `up.done` frame once finished. */
  done: string | null;
  /** Last activity (ms), for `uploadTtl`. */
  touched: number;
}

type Info = Pick<Upload, 'size' | 'name' | 'type' | 'metadata'>;

const errorFrame = (id: string, code: number, reason: string): string =>
  `up.error ${ID.test(id) ? id : encodeURIComponent(id.slice(0, 64)) || '-'} ${code} ${encodeURIComponent(reason)}`;

/** `{name,type,size,metadata}` when well-formed, else null. */
function parseInfo(json: string): Info | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const { size, name = null, type = null, metadata = null } = v as Record<string, unknown>;
  if (!Number.isSafeInteger(size) || (size as number) < 0) return null;
  const text = (x: unknown): x is string | null => x === null || typeof x === 'string';
  const meta = metadata === null || (typeof metadata === 'object' && !Array.isArray(metadata));
  if (!text(name) || !text(type) || !meta) return null;
  return { size: size as number, name, type, metadata: metadata as Record<string, unknown> | null };
}

/** The uploads of every session of one server. */
export class Uploads {
  /** Unfinished uploads of every session (bounded by `maxUploads`). */
  private held = 0;

  constructor(private readonly core: Core) {}

  /** An upload frame, already split: the answer frames in order (run in the session's queue). */
  frame(session: Session, fields: string[], payload: string, bytes: Uint8Array): Promise<string[]> {
    const [type, id = '', offset, check] = fields;
    return session.run(async () => {
      if (!ID.test(id)) return [errorFrame(id, 400, 'bad upload id')];
      const shared = this.core.files.shared;
      if (shared) return this.sharedFrame(shared, session, fields, payload, bytes);
      return this.answer(session, fields, payload, bytes);
    });
  }

  private async answer(session: Session, fields: string[], payload: string, bytes: Uint8Array): Promise<string[]> {
    const [type, id = '', offset, check] = fields;
    {
      try {
        if (type === 'up.open') return await this.open(session, id, payload);
        if (type === 'up.chunk') return await this.chunk(session, id, offset, check, bytes);
        if (type === 'up.abort') await this.drop(session, id);
        return [];
      } catch (e) {
        // The upload store failed (disk full, I/O error): the upload fails for good.
        this.core.report(e, { where: 'upload', session: session.id });
        await this.drop(session, id).catch(() => {});
        return [errorFrame(id, 500, 'storage failed')];
      }
    }
  }

  /**
   * Shared uploads: under the upload's lease, the state is loaded from the shared store, the frame
   * answered as usual, the state saved (or deleted) and the local copy dropped, so any process can
   * take the next frame.
   */
  private async sharedFrame(shared: SharedUploads, session: Session, fields: string[], payload: string, bytes: Uint8Array): Promise<string[]> {
    const id = fields[1]!;
    const key = `${session.id}/${id}`;
    let token: string | null = null;
    for (let waited = 0; !(token = await shared.lock(key)); waited += 50) {
      // Another process holds the lease (writing a chunk, or it died: the lease then runs out).
      if (waited > 10000) return [errorFrame(id, 503, 'upload busy')];
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      const state = await shared.load(key);
      session.uploads.delete(id);
      if (state) {
        const file = state.done ? null : await shared.open(key);
        session.uploads.set(id, { id, ...state, file, hash: createHash('sha256'), touched: Date.now() });
      }
      const answer = await this.answer(session, fields, payload, bytes);
      const upload = session.uploads.get(id);
      session.uploads.delete(id);
      if (upload) {
        const { size, name, type, metadata, received, done } = upload;
        await shared.save(key, { size, name, type, metadata, received, done }, this.core.limits.uploadTtl);
        await upload.file?.finish(); // closes this process's handle; the bytes stay
      } else if (state) await shared.delete(key);
      return answer;
    } finally {
      await shared.unlock(key, token);
    }
  }

  private async open(session: Session, id: string, json: string): Promise<string[]> {
    const { limits, options } = this.core;
    const info = parseInfo(json);
    const held = session.uploads.get(id);
    if (!info || (held && held.size !== info.size)) {
      await this.drop(session, id);
      return [errorFrame(id, 400, info ? 'size changed' : 'malformed')];
    }
    if (held) {
      held.touched = Date.now();
      return [`up.offset ${id} ${held.received}`, ...(held.done ? [held.done] : [])];
    }
    if (!options.onUpload) return [errorFrame(id, 403, 'uploads not accepted')];
    if (info.size > limits.maxUploadSize) return [errorFrame(id, 413, 'too large')];
    let open = 0;
    for (const u of session.uploads.values()) open += u.done ? 0 : 1;
    if (open >= limits.maxUploadsPerSession) return [errorFrame(id, 429, 'too many uploads')];
    if (this.held >= limits.maxUploads) return [errorFrame(id, 429, 'server busy')];
    const upload: Upload = { id, ...info, file: null, hash: createHash('sha256'), received: 0, done: null, touched: Date.now() };
    upload.file = await this.core.files.create(`${session.id}/${id}`);
    session.uploads.set(id, upload);
    this.held += 1;
    const offset = `up.offset ${id} 0`;
    return info.size === 0 ? [offset, await this.finish(session, upload)] : [offset];
  }

  private async chunk(session: Session, id: string, offsetText = '', check = '', bytes: Uint8Array): Promise<string[]> {
    const upload = session.uploads.get(id);
    if (!upload) return [errorFrame(id, 404, 'unknown upload')];
    upload.touched = Date.now();
    if (!OFFSET.test(offsetText) || !check) return this.fail(session, upload, 400, 'malformed');
    if (upload.done) return [`up.ack ${id} ${upload.received}`, upload.done];
    const offset = Number(offsetText);
    if (offset > upload.received) return [`up.offset ${id} ${upload.received}`];
    if (offset + bytes.length > upload.size) return this.fail(session, upload, 413, 'past size');
    if (check !== '-' && check !== chunkCheck(bytes)) return this.fail(session, upload, 422, 'checksum mismatch');
    const fresh = bytes.subarray(upload.received - offset);
    if (fresh.length) {
      await upload.file!.write(upload.received, fresh);
      upload.hash.update(fresh);
      upload.received += fresh.length;
    }
    const ack = `up.ack ${id} ${upload.received}`;
    return upload.received === upload.size ? [ack, await this.finish(session, upload)] : [ack];
  }

  /** A chunk body over `maxChunkSize`: it fails its upload. */
  async tooLarge(session: Session, id: string): Promise<string[]> {
    return session.run(async () => {
      const upload = session.uploads.get(id);
      return upload ? this.fail(session, upload, 413, 'chunk too large') : [errorFrame(id, 404, 'unknown upload')];
    });
  }

  /** All bytes held: the file goes to `onUpload`; its answer decides `up.done` or `up.error`. */
  private async finish(session: Session, upload: Upload): Promise<string> {
    const file = upload.file!;
    await file.finish();
    const sha256 = this.core.files.shared ? await fileHash(file.path!) : upload.hash.digest('hex');
    const { id, name, type, size, metadata } = upload;
    let done: string;
    try {
      const { user } = session.record;
      const hook = this.core.options.onUpload!;
      const info = { id, session: session.id, user, path: file.path, size, sha256, name, type, metadata };
      const extra = await within(this.core, 'onUpload', this.core.limits.uploadTimeout, () => hook(info));
      const result = { ...(extra && typeof extra === 'object' ? extra : {}), id, name, type, size, sha256, metadata };
      done = `up.done ${id} ${JSON.stringify(result)}`; // throws for what JSON cannot carry
    } catch (e) {
      this.core.report(e, { where: 'upload', session: session.id });
      const timedOut = e instanceof HookTimeout;
      return (await this.fail(session, upload, timedOut ? 504 : 500, timedOut ? 'onUpload timed out' : 'rejected'))[0]!;
    }
    await file.remove();
    upload.file = null;
    upload.done = done;
    this.held -= 1;
    let finished = 0;
    for (const [key, u] of [...session.uploads].reverse()) if (u.done && ++finished > DONE_KEPT) session.uploads.delete(key);
    return upload.done;
  }

  private async fail(session: Session, upload: Upload, code: number, reason: string): Promise<string[]> {
    await this.drop(session, upload.id);
    return [errorFrame(upload.id, code, reason)];
  }

  /** Deletes the upload's bytes and forgets its id. */
  async drop(session: Session, id: string): Promise<void> {
    const upload = session.uploads.get(id);
    if (!upload) return;
    session.uploads.delete(id);
    if (!upload.done) this.held -= 1;
    const file = upload.file;
    upload.file = null;
    await Promise.resolve(file?.remove()).catch((e: unknown) => this.core.report(e, { where: 'internal', session: session.id }));
  }

  /** Unfinished uploads untouched since `before` are dropped. */
  async expire(session: Session, before: number): Promise<void> {
    for (const u of [...session.uploads.values()]) if (!u.done && u.touched < before) await this.drop(session, u.id);
  }

  async dropAll(session: Session): Promise<void> {
    for (const id of [...session.uploads.keys()]) await this.drop(session, id);
  }
}

/** The SHA-256 of a file (shared uploads: the chunks were written by several processes). */
function fileHash(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (d) => hash.update(d)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}
