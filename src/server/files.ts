/**
 * The default upload storage: one file per upload in a directory of the local disk.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UploadFile, UploadStore } from './engine.js';

/** Options of {@link FileUploads}. */
export interface FileUploadsOptions {
  /** The directory (created if missing). @default a new directory under `os.tmpdir()`, made on the first upload */
  dir?: string;
}

/**
 * Files named by the server (never by the client), written at the offset the protocol holds, so
 * memory stays bounded by one chunk. A finished file stays until the server removes it (after the
 * application's `onUpload` settled); unfinished ones are removed on abort, failure or expiry.
 */
export class FileUploads implements UploadStore {
  private dir: string | undefined;
  private readonly own: boolean;
  private readonly held = new Set<DiskFile>();

  constructor(options: FileUploadsOptions = {}) {
    this.dir = options.dir;
    this.own = options.dir === undefined;
  }

  async create(_key: string): Promise<UploadFile> {
    if (this.dir === undefined) this.dir = mkdtempSync(join(tmpdir(), 'heartline-uploads-'));
    else mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, randomBytes(12).toString('base64url'));
    const file = new DiskFile(path, await open(path, 'w'), () => this.held.delete(file));
    this.held.add(file);
    return file;
  }

  async close(): Promise<void> {
    await Promise.all([...this.held].map((f) => f.remove()));
    if (this.own && this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/**
 * One upload's bytes in a file of the local disk, written through `handle` until `finish` closes
 * it. Also the shared-directory file of the Redis engine (redis-uploads.ts), which opens one per
 * frame and finishes it after the frame (close-to-open, as NFS needs).
 * @internal
 */
export class DiskFile implements UploadFile {
  constructor(
    readonly path: string,
    private handle: FileHandle | null,
    private readonly forget: () => void = () => {},
  ) {}

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length && this.handle; ) {
      at += (await this.handle.write(bytes, at, bytes.length - at, offset + at)).bytesWritten;
    }
  }

  async finish(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }

  async remove(): Promise<void> {
    this.forget();
    await this.finish().catch(() => {});
    await rm(this.path, { force: true });
  }
}
