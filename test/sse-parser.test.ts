import { describe, expect, it } from 'vitest';
import { isHeartlineError } from '../src/errors';
import { createSSEParser } from '../src/sse-parser';
import type { SSEEvent, SSEParserOptions } from '../src/sse-parser';

interface Out {
  events: SSEEvent[];
  retries: number[];
  comments: string[];
  lastEventId: string;
  error?: 'sse-limit';
}

type Opts = Omit<SSEParserOptions, 'onRetry' | 'onComment'>;

const enc = new TextEncoder();
const ev = (data: string, event = 'message', id = ''): SSEEvent => ({ data, event, id });

/** Deterministic PRNG (mulberry32) so random chunkings and fuzz inputs are reproducible. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** Feeds the chunks, then ends the stream; a limit error is recorded, anything else fails. */
function run(chunks: Array<string | Uint8Array>, opts: Opts = {}): Out {
  const out: Out = { events: [], retries: [], comments: [], lastEventId: '' };
  const p = createSSEParser((e) => out.events.push(e), {
    ...opts,
    onRetry: (ms) => out.retries.push(ms),
    onComment: (t) => out.comments.push(t),
  });
  try {
    for (const c of chunks) p.feed(c);
    p.end();
  } catch (e) {
    if (!isHeartlineError(e) || e.code !== 'sse-limit') throw e;
    out.error = 'sse-limit';
  }
  out.lastEventId = p.lastEventId;
  return out;
}

/** Cuts `input` at random points (some chunks empty). */
function randomSplit<T extends string | Uint8Array>(input: T, rnd: () => number): T[] {
  const parts: T[] = [];
  let i = 0;
  while (i < input.length) {
    const n = Math.floor(rnd() * 8); // 0..7, so empty chunks occur too
    parts.push(input.slice(i, i + n) as T);
    i += n;
  }
  return parts;
}

/** Every way the tests feed one stream: whole, one unit at a time, random cuts; string and bytes. */
function chunkings(stream: string | Uint8Array, seeds = 5): Array<[string, Array<string | Uint8Array>]> {
  const bytes = typeof stream === 'string' ? enc.encode(stream) : stream;
  const ways: Array<[string, Array<string | Uint8Array>]> = [
    ['one Uint8Array', [bytes]],
    ['one byte at a time', Array.from(bytes, (_, i) => bytes.slice(i, i + 1))],
  ];
  if (typeof stream === 'string') {
    ways.push(['one string', [stream]], ['one code unit at a time', stream.split('')]);
  }
  for (let seed = 1; seed <= seeds; seed++) {
    ways.push([`bytes, seed ${seed}`, randomSplit(bytes, prng(seed))]);
    if (typeof stream === 'string') ways.push([`string, seed ${seed}`, randomSplit(stream, prng(seed))]);
  }
  return ways;
}

/** Asserts the same outcome for every chunking of `stream`. */
function expectParse(stream: string | Uint8Array, expected: Partial<Out>, opts: Opts = {}): void {
  const want: Out = { events: [], retries: [], comments: [], lastEventId: opts.lastEventId ?? '', ...expected };
  for (const [how, chunks] of chunkings(stream)) expect(run(chunks, opts), how).toEqual(want);
}

/** A literal, whole-input transcription of the spec, used as the oracle in fuzz tests. */
function reference(text: string, max: number): Out {
  const out: Out = { events: [], retries: [], comments: [], lastEventId: '' };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\r|\n/);
  const tail = lines.pop() as string; // unterminated: discarded, but still bounded by the cap
  let data = '';
  let type = '';
  let id = '';
  for (const l of lines) {
    if (l === '') {
      out.lastEventId = id;
      if (data !== '') out.events.push(ev(data.slice(0, -1), type || 'message', id));
      data = type = '';
      continue;
    }
    if (l.length > max) return { ...out, error: 'sse-limit' };
    const c = l.indexOf(':');
    const name = c === -1 ? l : l.slice(0, c);
    let value = c === -1 ? '' : l.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (c === 0) out.comments.push(value);
    else if (name === 'data') {
      data += value + '\n';
      if (data.length > max) return { ...out, error: 'sse-limit' };
    } else if (name === 'event') type = value;
    else if (name === 'id' && !value.includes('\0')) id = value;
    else if (name === 'retry' && /^[0-9]+$/.test(value)) out.retries.push(parseInt(value, 10));
  }
  return tail.length > max ? { ...out, error: 'sse-limit' } : out;
}

describe('createSSEParser', () => {
  it('dispatches a data field as a message event with an empty id', () => {
    expectParse('data: hello\n\n', { events: [ev('hello')] });
  });

  it('joins data lines with LF and removes one trailing LF', () => {
    expectParse('data: a\ndata: b\n\ndata: c\ndata:\n\n', { events: [ev('a\nb'), ev('c\n')] });
  });

  it('dispatches an empty string for a data field with an empty value or no colon', () => {
    expectParse('data:\n\ndata\ndata\n\ndata: x\n\n', { events: [ev(''), ev('\n'), ev('x')] });
  });

  it('dispatches nothing for a block without data and resets its event type', () => {
    expectParse('event: ping\n\n\n\ndata: x\n\n', { events: [ev('x')] });
  });

  it('uses the event field as the type and resets it after each dispatch', () => {
    expectParse('event: add\ndata: 1\n\ndata: 2\n\nevent: a\nevent: b\ndata: 3\n\n', {
      events: [ev('1', 'add'), ev('2'), ev('3', 'b')],
    });
  });

  it('falls back to message when the event field is empty', () => {
    expectParse('event: \ndata: a\n\nevent\ndata: b\n\n', { events: [ev('a'), ev('b')] });
  });

  it('removes exactly one leading space from a value and nothing else', () => {
    expectParse('data:x\n\ndata:  two\n\ndata:\tt \n\ndata: \n\n', {
      events: [ev('x'), ev(' two'), ev('\tt '), ev('')],
    });
  });

  it('splits field and value at the first colon only', () => {
    expectParse('data: a:b\n\ndata::\n\ndata:: x\n\n', { events: [ev('a:b'), ev(':'), ev(': x')] });
  });

  it('treats field names case-sensitively and ignores unknown fields', () => {
    const stream = 'Data: 1\nDATA: 2\ndata : 3\n data: 4\nda-ta: 5\ndata_6\ndata\0: 7\nfoo: bar\njusttext\ndata: ok\n\n';
    expectParse(stream, { events: [ev('ok')] });
  });

  it('keeps NULL characters and other controls in data', () => {
    expectParse('data: \0\ndata: a\0b\x01\n\n', { events: [ev('\0\na\0b\x01')] });
  });

  it('reports comment lines without their colon and one leading space, and ignores them otherwise', () => {
    expectParse(':\n: keep-alive\ndata: 1\n::x\n:data: fail\n:  two\ndata: 2\n\n', {
      events: [ev('1\n2')],
      comments: ['', 'keep-alive', ':x', 'data: fail', ' two'],
    });
  });

  it('accepts CR, LF and CRLF line ends, mixed in one stream', () => {
    expectParse('data: a\rdata: b\ndata: c\r\n\r\ndata: d\r\rdata: e\n\n', {
      events: [ev('a\nb\nc'), ev('d'), ev('e')],
    });
  });

  it('counts CRLF as one line end but LF CR as two', () => {
    expectParse('data: a\r\ndata: b\r\n\r\n', { events: [ev('a\nb')] });
    expectParse('data: a\n\rdata: b\n\n', { events: [ev('a'), ev('b')] });
  });

  it('treats a CRLF split across two chunks as one line end', () => {
    expect(run(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual(run(['data: a\ndata: b\n\n']));
    expect(run(['data: a\r', '\ndata: b\r', '\n\r', '\n']).events).toEqual([ev('a\nb')]);
    // Empty chunks (e.g. bytes of a partial character) between CR and LF do not break the pair.
    expect(run(['data: a\r', '', new Uint8Array(0), '\n\r', '', '\n', 'data: b\n\n']).events).toEqual([
      ev('a'),
      ev('b'),
    ]);
  });

  it('treats a CR followed by CR in the next chunk as two line ends', () => {
    expect(run(['data: a\r', '\rdata: b\r', '\r']).events).toEqual([ev('a'), ev('b')]);
  });

  it('dispatches on a lone CR at the end of the stream', () => {
    expectParse('data: a\n\r', { events: [ev('a')] });
    expectParse('data: a\r\r', { events: [ev('a')] });
  });

  it('discards an unterminated event or line at the end of the stream', () => {
    expectParse('data: a\n\ndata: b\n', { events: [ev('a')] });
    expectParse('data: a\n\ndata: b', { events: [ev('a')] });
    expectParse('data: a\r', {});
    expectParse('retry: 5', {});
    expectParse(': unterminated', {});
  });

  it('strips one leading BOM and only at the start of the stream', () => {
    expectParse('\uFEFFdata: 1\n\n', { events: [ev('1')] });
    expectParse('\uFEFF\uFEFFdata: 1\n\ndata: 2\n\n', { events: [ev('2')] });
    expectParse('data: 1\n\n\uFEFFdata: 2\n\ndata: 3\n\n', { events: [ev('1'), ev('3')] });
    expectParse('data: \uFEFF\n\n', { events: [ev('\uFEFF')] });
  });

  it('strips the BOM again on the stream after end() or reset()', () => {
    const events: SSEEvent[] = [];
    const p = createSSEParser((e) => events.push(e));
    for (const next of [() => p.end(), () => p.reset()]) {
      p.feed(enc.encode('\uFEFFdata: x\n\n'));
      next();
    }
    p.feed('\uFEFFdata: y\n\n');
    expect(events).toEqual([ev('x'), ev('x'), ev('y')]);
  });

  it('sets the last event id, which persists across events until changed', () => {
    expectParse('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n', {
      events: [ev('a', 'message', '1'), ev('b', 'message', '1'), ev('c', 'message', '2')],
      lastEventId: '2',
    });
  });

  it('resets the last event id with an empty id field', () => {
    expectParse('id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\n\nid:\ndata: c\n\n', {
      events: [ev('a', 'message', '1'), ev('b'), ev('c')],
      lastEventId: '',
    });
  });

  it('ignores an id field containing NULL', () => {
    for (const bad of ['\0', '\0\0', 'x\0', '\0x', 'x\0x', ' \0']) {
      expectParse(`id: 1\n\nid: ${bad}\ndata: a\n\n`, { events: [ev('a', 'message', '1')], lastEventId: '1' });
    }
  });

  it('keeps id values verbatim apart from one leading space', () => {
    expectParse('id:  7 \ndata: a\n\n', { events: [ev('a', 'message', ' 7 ')], lastEventId: ' 7 ' });
  });

  it('commits the last event id on a blank line even when no event is dispatched', () => {
    expectParse('id: 9\n\n', { lastEventId: '9' });
  });

  it('reports an id committed without an event through onId, once per change, and never for an event', () => {
    const ids: string[] = [];
    const events: SSEEvent[] = [];
    const p = createSSEParser((e) => events.push(e), { onId: (id) => ids.push(id), lastEventId: '1' });
    p.feed('id: 1\n\nid: 2\ndata: a\n\nid: 7\n\n\nid: 7\n\nid\n\nevent: x\n\n');
    expect(ids).toEqual(['7', '']);
    expect(events.map((e) => e.id)).toEqual(['2']);
    expect(p.lastEventId).toBe('');
  });

  it('does not commit the id of an event cut off before its blank line', () => {
    expectParse('id: 1\ndata: a\n\nid: 2\ndata: b\n', { events: [ev('a', 'message', '1')], lastEventId: '1' });
  });

  it('starts from a seeded last event id, carried into events without an id', () => {
    expectParse('data: a\n\nid: 6\ndata: b\n\n', {
      events: [ev('a', 'message', '5'), ev('b', 'message', '6')],
      lastEventId: '6',
    }, { lastEventId: '5' });
  });

  it('reports retry values made of ASCII digits only', () => {
    expectParse('retry: 1500\nretry:0\nretry: 007\ndata: a\n\n', { events: [ev('a')], retries: [1500, 0, 7] });
  });

  it('ignores bogus and empty retry values', () => {
    const bogus = ['retry', 'retry:', 'retry: ', 'retry: 1.5', 'retry: -1', 'retry: +1', 'retry: 10x', 'retry:  100',
      'retry: 1e3', 'retry: \u0661\u0662', 'retry: ５', 'Retry: 10', 'retry : 10'];
    expectParse(bogus.join('\n') + '\ndata: ok\n\n', { events: [ev('ok')] });
  });

  it('decodes multi-byte UTF-8 characters split anywhere across chunks', () => {
    const text = 'data: é€😀ßあ𝄞\n\n'; // 2-, 3- and 4-byte characters
    expectParse(text, { events: [ev('é€😀ßあ𝄞')] });
    const bytes = enc.encode(text);
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i; j < bytes.length; j++) {
        expect(run([bytes.slice(0, i), bytes.slice(i, j), bytes.slice(j)]).events, `cut at ${i}, ${j}`).toEqual([
          ev('é€😀ßあ𝄞'),
        ]);
      }
    }
  });

  it('decodes bytes as UTF-8 and replaces invalid sequences with U+FFFD', () => {
    const bytes = new Uint8Array([...enc.encode('data: '), 0xff, 0x61, 0xc3, 0x28, 0x0a, 0x0a]);
    expectParse(bytes, { events: [ev('\uFFFDa\uFFFD(')] });
  });

  it('gives identical results for every chunking of every stream', () => {
    const streams = [
      '\uFEFFretry: 10\n:c\r\nid: 1\r\nevent: e\rdata: a\r\rdata\n\n\r\ndata: 😀\r\n\r\n',
      'data: a\r\r\n\r\ndata: b\n\rid\0: x\nid: y\0\n\n:\r',
      'data:\uFEFF\u00e9\r\n\ndata: \u20ac\r\n\r\n\r\n\r\n',
    ];
    for (const stream of streams) {
      const want = run([stream]);
      expect(want.events.length).toBeGreaterThan(0);
      for (const [how, chunks] of chunkings(stream, 100)) expect(run(chunks), how).toEqual(want);
    }
  });

  it('throws a typed limit error on an endless line and keeps at most maxLength characters of it', () => {
    const events: SSEEvent[] = [];
    const p = createSSEParser((e) => events.push(e), { maxLength: 100 });
    p.feed('data: ok\n\ndata: ');
    for (let i = 0; i < 94; i++) p.feed('x'); // 100 characters pending: still within the cap
    let error: unknown;
    try {
      p.feed('x');
    } catch (e) {
      error = e;
    }
    expect(isHeartlineError(error) && error.code).toBe('sse-limit');
    // The state was discarded: the next stream parses cleanly.
    p.feed('data: next\n\n');
    expect(events).toEqual([ev('ok'), ev('next')]);
  });

  it('accepts a line of exactly maxLength characters and rejects one more, however chunked', () => {
    expectParse(`data:${'x'.repeat(15)}\n\n`, { events: [ev('x'.repeat(15))] }, { maxLength: 20 });
    expectParse(`data: ${'x'.repeat(15)}\n\ndata: b\n\n`, { events: [], error: 'sse-limit' }, { maxLength: 20 });
    expectParse(`data: a\n\n:${'x'.repeat(20)}`, { events: [ev('a')], error: 'sse-limit' }, { maxLength: 20 });
  });

  it('throws a typed limit error on a huge event made of many short lines', () => {
    const stream = 'id: 1\ndata: a\n\n' + 'data: 0123456789\n'.repeat(20) + '\n';
    expectParse(stream, { events: [ev('a', 'message', '1')], lastEventId: '1', error: 'sse-limit' }, { maxLength: 100 });
    const chunks = Array.from({ length: 1000 }, () => 'data: 0123456789\n');
    expect(run(chunks, { maxLength: 100 }).error).toBe('sse-limit');
  });

  it('has a default cap of 1 MiB characters', () => {
    expect(run([`data: ${'x'.repeat((1 << 20) - 6)}\n\n`]).events[0]?.data.length).toBe((1 << 20) - 6);
    expect(run(['data: ', 'x'.repeat(1 << 20)]).error).toBe('sse-limit');
  });

  it('clears the pending line, data and type on reset() but keeps the last event id', () => {
    const events: SSEEvent[] = [];
    const p = createSSEParser((e) => events.push(e));
    p.feed('id: 3\n\nevent: t\ndata: lost\nid: 4\ndata: par');
    p.reset();
    expect(p.lastEventId).toBe('3');
    p.feed('tial\n\ndata: kept\n\n');
    expect(events).toEqual([ev('kept', 'message', '3')]);
  });

  it('discards undecoded bytes of a partial character on reset()', () => {
    const events: SSEEvent[] = [];
    const p = createSSEParser((e) => events.push(e));
    p.feed(new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xe2, 0x82])); // 'data:' and 2 of 3 bytes of '€'
    p.reset();
    p.feed(enc.encode('data: a\n\n'));
    expect(events).toEqual([ev('a')]);
  });

  it('reseeds the last event id when reset() is given one', () => {
    const events: SSEEvent[] = [];
    const p = createSSEParser((e) => events.push(e), { lastEventId: 'a' });
    p.reset('b');
    expect(p.lastEventId).toBe('b');
    p.feed('data: x\n\n');
    expect(events).toEqual([ev('x', 'message', 'b')]);
  });

  it('discards the rest of the chunk being fed when a callback calls reset()', () => {
    const events: SSEEvent[] = [];
    const p = createSSEParser((e) => {
      events.push(e);
      if (e.data === 'stop') p.reset();
    });
    p.feed('data: stop\n\ndata: ignored\n\n');
    p.feed('data: after\n\n');
    expect(events).toEqual([ev('stop'), ev('after')]);
  });

  it('matches a literal spec transcription on random token streams in random chunks', () => {
    const tokens = ['data', 'event', 'id', 'retry', ':', ' ', '\r', '\n', '\r\n', '\n\n', 'x', '12', '\0', '\uFEFF',
      'é', '€', '😀', 'Data'];
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = prng(seed);
      let text = '';
      const len = Math.floor(rnd() * 200);
      for (let i = 0; i < len; i++) text += tokens[Math.floor(rnd() * tokens.length)];
      const maxLength = seed % 2 ? 1 << 20 : 8 + Math.floor(rnd() * 40);
      const want = reference(text, maxLength);
      const chunks = seed % 3 ? randomSplit(enc.encode(text), rnd) : randomSplit(text, rnd);
      expect(run(chunks, { maxLength }), `seed ${seed}`).toEqual(want);
    }
  });

  it('never throws anything but the limit error on random bytes, and matches the oracle', () => {
    const favoured = [0x0a, 0x0d, 0x3a, 0x20, 0x00, 0x64, 0xef, 0xbb, 0xbf, 0xf0, 0x9f, 0x98, 0x80];
    let limited = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = prng(1000 + seed);
      const bytes = Uint8Array.from({ length: Math.floor(rnd() * 600) }, () =>
        rnd() < 0.5 ? (favoured[Math.floor(rnd() * favoured.length)] as number) : Math.floor(rnd() * 256),
      );
      const maxLength = 16 + Math.floor(rnd() * 64);
      const want = reference(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes, { stream: true }), maxLength);
      const got = run(randomSplit(bytes, rnd), { maxLength });
      expect(got, `seed ${seed}`).toEqual(want);
      for (const e of got.events) expect(e.data.length).toBeLessThanOrEqual(maxLength);
      if (got.error) limited++;
    }
    expect(limited).toBeGreaterThan(10); // the cap was really exercised
  });

  it('parses a large stream in linear time whatever the chunk size', () => {
    const stream = 'id: 1\nevent: tick\ndata: {"n":1,"payload":"abcdefghijklmnop"}\n\n'.repeat(20000);
    const bytes = enc.encode(stream);
    let n = 0;
    const p = createSSEParser(() => n++);
    for (let i = 0; i < bytes.length; i += 7) p.feed(bytes.subarray(i, i + 7));
    const q = createSSEParser(() => n++, { maxLength: 1 << 24 });
    q.feed(`data: ${'x'.repeat(1 << 20)}\n\ndata: `); // one large line in one chunk
    for (let i = 0; i < 1 << 16; i++) q.feed('y'); // a long line arriving a byte at a time
    q.feed('\n\n');
    expect(n).toBe(20002);
  });
});
