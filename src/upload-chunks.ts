// Reading a file in chunks for an upload (PROTOCOL.md section 7): one reused buffer per upload,
// the chunk's CHECK, and the chunk frame written in place in front of the bytes.

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/**
 * The chunk's CHECK (PROTOCOL.md section 7), sent with `verify: true`: two running 32-bit sums over
 * its little-endian 32-bit words, a fraction of a per-chunk SHA-256's cost (which was 1.6 ms per MiB).
 */
export const chunkCheck = (bytes: Uint8Array): string => {
  let src = bytes;
  // A last partial word counts as if padded with zero bytes: such a view (only a file's last chunk;
  // ours start aligned) is copied into a padded one, as is one not aligned for the word view.
  if ((bytes.byteOffset | bytes.byteLength) & 3) (src = new Uint8Array((bytes.byteLength + 3) & ~3)).set(bytes);
  // Int32 arithmetic (`| 0`) is the same sum mod 2^32 and stays on the engine's integer fast path.
  const words = new Int32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
  let a = 0;
  let b = 0;
  for (let i = 0; i < words.length; i++) (a = (a + words[i]!) | 0), (b = (b + a) | 0);
  return hex8(a) + hex8(b);
};

/** Room kept in front of every chunk for its header line, so header and bytes leave as one frame without a copy. */
const ROOM = 128; // `up.chunk ` + an ID (ours: about 20 characters; at most 64) + 2 numbers + a CHECK

/**
 * Reads a Blob in chunks into one reused buffer, `ROOM` bytes from its start: a BYOB reader on
 * `blob.stream()` where the engine has one (stream speed, a heap that stays flat), else
 * `slice().arrayBuffer()` copied in. A read from anywhere but where the last one ended starts a new
 * stream there (into the same buffer). Never `ws.send(blob.slice())`: Chromium pins every slice
 * until it is collected (MEASURED.md). The returned view is valid until the next call; every
 * consumer copies it synchronously.
 */
export const chunks = (blob: Blob, size: number) => {
  let r: ReadableStreamBYOBReader | undefined;
  let buf = new ArrayBuffer(ROOM + size);
  let at = -1;
  const stop = () => r && r.cancel().catch(() => {});
  return {
    async next(from: number, n: number): Promise<Uint8Array> {
      if (from !== at) {
        void stop(); // (an engine without byte streams throws below every time: r stays undefined)
        try {
          r = blob.slice((at = from)).stream().getReader({ mode: 'byob' });
        } catch {
          // no byte stream here: slices it is
        }
      }
      let got = 0;
      if (!r) {
        const part = new Uint8Array(await blob.slice(at, at + n).arrayBuffer());
        new Uint8Array(buf, ROOM).set(part);
        got = part.byteLength;
      }
      while (r && got < n) {
        const { value, done } = await r.read(new Uint8Array(buf, ROOM + got, n - got));
        if (value) (buf = value.buffer as ArrayBuffer), (got += value.byteLength);
        if (done) break;
      }
      at += got;
      return new Uint8Array(buf, ROOM, got);
    },
    stop,
  };
};

/** The chunk frame: `head` written into the room just before `bytes` (a view from `chunks`). */
export const framed = (head: string, bytes: Uint8Array): Uint8Array => {
  const f = new Uint8Array(bytes.buffer, bytes.byteOffset - head.length, head.length + bytes.byteLength);
  for (let i = 0; i < head.length; i++) f[i] = head.charCodeAt(i); // ASCII only: IDs are [A-Za-z0-9_-]
  return f;
};
