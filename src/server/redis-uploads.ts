/**
 * Shared uploads for the Redis engine: each upload's state (size, offset, name, type, metadata,
 * the `up.done` answer) in a Redis hash, its bytes in a file of a directory every process mounts
 * (NFS, a shared volume), and a lease (`SET NX PX`) so two processes never write one upload at once.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { SharedUploads, UploadFile, UploadState, UploadStore } from './engine.js';
import { DiskFile } from './files.js';
import { RELEASE } from './redis-scripts.js';

/** What this needs of the engine's command runner (redis.ts). */
export interface Commands {
  readonly p: string;
  send(args: string[]): Promise<unknown>;
  script(lua: string, keys: string[], args: (string | number)[]): Promise<unknown>;
}

/** Upload files in a shared directory, their state and lease in Redis. */
export class RedisUploads implements UploadStore, SharedUploads {
  readonly shared: SharedUploads = this;
  constructor(
    private readonly r: Commands,
    private readonly dir: string,
    private readonly leaseTime: number,
  ) {}

  /** The file of `key`: named by a hash of it, so every process finds the same one. */
  private path(key: string): string {
    mkdirSync(this.dir, { recursive: true });
    return join(this.dir, createHash('sha256').update(this.r.p + key).digest('base64url'));
  }

  async create(key: string): Promise<UploadFile> {
    const path = this.path(key);
    return new DiskFile(path, await open(path, 'w'));
  }

  async open(key: string): Promise<UploadFile> {
    const path = this.path(key);
    return new DiskFile(path, await open(path, 'r+'));
  }

  async close(): Promise<void> {} // the files belong to every process: expiry removes them

  async lock(key: string): Promise<string | null> {
    const token = randomBytes(9).toString('base64url');
    const ok = await this.r.send(['SET', `${this.r.p}ul:${key}`, token, 'NX', 'PX', String(this.leaseTime)]);
    return ok ? token : null;
  }

  async unlock(key: string, token: string): Promise<void> {
    await this.r.script(RELEASE, [`${this.r.p}ul:${key}`], [token]);
  }

  async load(key: string): Promise<UploadState | undefined> {
    const json = await this.r.send(['GET', `${this.r.p}u:${key}`]);
    return typeof json === 'string' ? (JSON.parse(json) as UploadState) : undefined;
  }

  async save(key: string, state: UploadState, ttl: number): Promise<void> {
    await this.r.send(['SET', `${this.r.p}u:${key}`, JSON.stringify(state), 'PX', String(ttl)]);
  }

  async delete(key: string): Promise<void> {
    await this.r.send(['DEL', `${this.r.p}u:${key}`]);
  }
}
