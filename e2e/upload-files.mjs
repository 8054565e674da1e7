// Real files for the upload scenarios, made once per process in a temporary directory (removed
// at exit): the drivers put them into the page's <input type=file> the way a user picks them,
// and hand the page each file's SHA-256 so it can check the server's. Sizes cover an empty file,
// a few chunks with a ragged end, and one well over 100 MiB.
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FILE_SETS = {
  // `files:all`: every size, over WebSocket
  all: [
    ['empty.bin', 0],
    ['note.txt', 3 * 1024 + 7],
    ['photo.jpg', 5 * 1024 * 1024 + 3],
    ['video.bin', 128 * 1024 * 1024 + 1],
  ],
  // `files:http`: over SSE and long-polling (one POST per chunk)
  http: [
    ['empty.bin', 0],
    ['note.txt', 3 * 1024 + 7],
    ['scan.pdf', 12 * 1024 * 1024 + 3],
  ],
};

let dir;
const made = new Map();

/** Creates (once) the named file of `size` random bytes; returns { path, name, size, sha256 }. */
function file(name, size) {
  if (made.has(name)) return made.get(name);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'heartline-e2e-files-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const hash = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  try {
    for (let left = size; left > 0; left -= block.length) {
      const part = block.subarray(0, Math.min(left, block.length));
      randomFillSync(part);
      hash.update(part);
      writeSync(fd, part);
    }
  } finally {
    closeSync(fd);
  }
  const info = { path, name, size, sha256: hash.digest('hex') };
  made.set(name, info);
  return info;
}

/** The files of a set, by step name (`files:all`); null for another step. */
export function filesForStep(step) {
  const m = /^files:(\w+)$/.exec(step);
  const set = m && FILE_SETS[m[1]];
  return set ? set.map(([name, size]) => file(name, size)) : null;
}

/** What the page is told about the files it gets (no paths). */
export const describeFiles = (files) => files.map(({ name, size, sha256 }) => ({ name, size, sha256 }));
