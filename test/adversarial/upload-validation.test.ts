// @vitest-environment node
// The class "every value a server sends that ends up in a number is validated", for uploads: a real
// hostile protocol server answers with malformed offsets, acknowledgements, results and errors.
import { afterEach, describe, expect, it } from 'vitest';
import { UploadError } from '../../src/index';
import { bytesOf, client, closeAll, honest, hostile, outcome, until } from './upload-server';
import type { Hostile, Up } from './upload-server';

const servers: Hostile[] = [];
afterEach(async () => {
  closeAll();
  await Promise.all(servers.splice(0).map((h) => h.stop()));
});

/** An honest server, except that `lie` may answer a frame instead (return true when it did). */
const lying = async (lie: (f: Up, send: (frame: string) => void) => boolean | void): Promise<Hostile> => {
  const h = honest();
  const s = await hostile((f, send) => void (lie(f, send) || h.script(f, send)));
  servers.push(s);
  return s;
};
/** Uploads 4000 bytes in 1000-byte chunks to a server that lies with `lie`: 'resolved', the reason, or 'pending'. */
const attempt = async (lie: Parameters<typeof lying>[0]): Promise<string> => {
  const s = await lying(lie);
  return outcome(client(s.url).upload(new Blob([bytesOf(4000)]), { chunkSize: 1000, timeout: 1000 }), 2000);
};
/** Runs one attempt per value, all at once: the values whose outcome is not bad-ack. */
const accepted = async (values: string[], lie: (v: string) => Parameters<typeof lying>[0]): Promise<string[]> => {
  const r = await Promise.all(values.map((v) => attempt(lie(v))));
  return values.map((v, i) => `${JSON.stringify(v)}: ${r[i]}`).filter((_, i) => r[i] !== 'bad-ack');
};

describe('adversarial uploads: malformed numbers and results', () => {
  // Each is a number to JavaScript's Number() (0, or 1000), none is the decimal integer the protocol sends.
  const junk = ['', '0x0', '0e0', '-0', '+0', '0.0', '0b0', '0o0', '1e3', '1000.', ' 1000'];

  it('rejects (bad-ack) an up.offset that is not a plain decimal integer', async () => {
    const a = await accepted(junk, (n) => (f, send) => f.type === 'up.open' && (send(`up.offset ${f.id} ${n}`), true));
    console.log(`junk up.offset accepted: ${a.length} of ${junk.length}: ${a.join(', ')}`);
    // Before the fix: 8 of the 10 others accepted (read as 0), and '-0' aborted the Node process
    // (Blob.slice(-0) fails a native assertion).
    expect(a).toEqual([]);
  });

  it('rejects (bad-ack) an up.ack that is not a plain decimal integer', async () => {
    const a = await accepted(junk, (n) => (f, send) => f.type === 'up.chunk' && f.offset === 1000 && (send(`up.ack ${f.id} ${n}`), true));
    console.log(`junk up.ack accepted: ${a.length} of ${junk.length}: ${a.join(', ')}`);
    expect(a).toEqual([]); // before the fix: '1e3' and '1000.' (read as 1000)
  });

  it('rejects (bad-ack) offsets and acknowledgements beyond the file, and answers up.abort', async () => {
    const frames = ['up.offset ID 4001', 'up.offset ID 9007199254740993', 'up.offset ID 1e400', 'up.ack ID 4001'];
    const a = await accepted(frames, (frame) => (f, send) => f.type === 'up.open' && (send(frame.replace('ID', f.id)), true));
    expect(a).toEqual([]);
    await until(() => servers.every((s) => s.frames.some((f) => f.type === 'up.abort'))); // on their way
    expect(servers.map((s) => s.frames.filter((f) => f.type === 'up.abort').length)).toEqual([1, 1, 1, 1]);
  });

  it('rejects (bad-ack) an up.done whose JSON is not an object for this upload of this size', async () => {
    const bad = ['', 'null', '[]', '"x"', '4000', '{', '{"size":"4000"}', '{"size":4001}', '[{"size":4000}]', '{"id":"other","size":4000}'];
    const a = await accepted(bad, (json) => (f, send) => {
      if (f.type !== 'up.chunk' || f.offset !== 3000) return;
      send(`up.ack ${f.id} 4000`);
      send(`up.done ${f.id} ${json}`);
      return true;
    });
    console.log(`junk up.done accepted: ${a.length} of ${bad.length}: ${a.join(', ')}`);
    expect(a).toEqual([]); // before the fix: the one naming another id
  });

  it('up.error: a malformed percent-encoding in REASON is kept as sent, a missing CODE or REASON is fine', async () => {
    const cases: [string, RegExp][] = [
      ['413 too%20large', /\(413 too large\)/],
      ['422 %E0%A4%A', /\(422 %E0%A4%A\)/],
      ['400', /\(400\)/],
      ['', /refused it/],
    ];
    for (const [tail, message] of cases) {
      const s = await lying((f, send) => f.type === 'up.open' && (send(`up.error ${f.id} ${tail}`), true));
      const e = await client(s.url).upload(new Blob(['x'])).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UploadError);
      expect((e as UploadError).reason).toBe('server');
      expect((e as UploadError).message).toMatch(message);
      expect((e as UploadError).message).not.toMatch(/undefined/);
    }
  });
});
