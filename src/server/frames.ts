/**
 * Frame helpers of PROTOCOL.md: split a frame, encode fields, SSE events, the chunk CHECK.
 * @module
 */

/** A frame's header fields (split at single spaces) and its payload (after the first `\n`). */
export interface Frame {
  fields: string[];
  payload: string;
}

/** Splits a text frame at its first `\n`. */
export function parseFrame(text: string): Frame {
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  return { fields: header.split(' '), payload: nl < 0 ? '' : text.slice(nl + 1) };
}

/** A binary frame split at its first 0x0A byte: the header's fields and the bytes after it. */
export function splitBinary(buf: Buffer): { fields: string[]; rest: Buffer } {
  const nl = buf.indexOf(0x0a);
  const header = buf.toString('latin1', 0, nl < 0 ? Math.min(buf.length, 256) : Math.min(nl, 256));
  return { fields: header.split(' '), rest: nl < 0 ? buf.subarray(buf.length) : buf.subarray(nl + 1) };
}

/** A header field: percent-encoded, `-` when absent (section 1). */
export const field = (value: string | null | undefined): string =>
  value == null || value === '' ? '-' : encodeURIComponent(value);

/** A client SEQ: a positive safe integer, else NaN. */
export const seqOf = (text: string | null | undefined): number =>
  /^[1-9]\d{0,14}$/.test(text ?? '') ? Number(text) : NaN;

/**
 * One SSE event (`id:`, `event:`, `data:` lines). The format cannot carry CR: CR and CRLF inside
 * the data arrive as LF.
 */
export function sseEvent(event: string | null, id: string | null, data: string): string {
  let out = id === null ? '' : `id: ${id}\n`;
  if (event !== null) out += `event: ${event}\n`;
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** A protocol frame over SSE and long-polling: an event named `heartline`. */
export const frameEvent = (text: string): string => sseEvent('heartline', null, text);

/**
 * The per-chunk CHECK of PROTOCOL.md section 7: the chunk as little-endian 32-bit words (a last
 * partial word zero-padded); a = sum of the words, b = sum of the successive a, both mod 2^32;
 * 16 lowercase hex digits, a then b.
 */
export function chunkCheck(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const whole = bytes.length >> 2;
  let a = 0;
  let b = 0;
  for (let i = 0; i < whole; i += 1) {
    a = (a + view.getUint32(i * 4, true)) >>> 0;
    b = (b + a) >>> 0;
  }
  if (bytes.length & 3) {
    let tail = 0;
    for (let i = whole * 4; i < bytes.length; i += 1) tail += bytes[i]! * 2 ** (8 * (i - whole * 4));
    a = (a + tail) >>> 0;
    b = (b + a) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}
