// @vitest-environment node
// Numbers the docs quote from the code, checked against the code: the README's options table
// against the TSDoc `@default`s and the resolved defaults, the welcome wait quoted in the README,
// the guide and PROTOCOL.md against src/kernel.ts, the README's example option error against the
// real one, and the server's bounds (README summary, the guide's table) against DEFAULT_LIMITS.
// Cheap on purpose: regular expressions over the Markdown, no Markdown parser.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_HINT } from '../src/backoff.js';
import { resolveHeartbeat, resolveReconnect } from '../src/options.js';
import { DEFAULT_LIMITS } from '../src/server/options.js';
import { REPEATS } from '../src/upload.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (f: string) => readFileSync(resolve(ROOT, f), 'utf8');
const README = read('README.md');
const GUIDE = read('docs/GUIDE.md');
const PROTOCOL = read('PROTOCOL.md');

/** `| \`name\` | \`default\` | …` rows of the README's options table. */
const optionRows = new Map(
  [...README.matchAll(/^\| `([\w.]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1]!, m[2]!] as const),
);

/** `@default` literals of src/options.ts, keyed by option path (`heartbeat.interval`, `json`…). */
function tsdocDefaults(): Map<string, string> {
  const src = read('src/options.ts');
  const prefix: Record<string, string> = { HeartbeatOptions: 'heartbeat.', ReconnectOptions: 'reconnect.', QueueOptions: 'queue.', Options: '' };
  const out = new Map<string, string>();
  for (const [, name, body] of src.matchAll(/export interface (\w+) \{([\s\S]*?)\n\}/g)) {
    if (!(name! in prefix)) continue;
    for (const [, value, key] of body!.matchAll(/@default ([^\n*]+?)\s*\*\/\s*\n\s*(\w+)\?:/g)) {
      // literals only: numbers, Infinity, booleans, quoted strings (not prose such as "globalThis.fetch")
      if (/^(-?\d+|Infinity|true|false|'[^']*')$/.test(value!)) out.set(`${prefix[name!]}${key!}`, value!);
    }
  }
  return out;
}

/** "1 MiB", "100,000", "10 min", "25 s", "8,192 chars" → a number in the code's units (bytes, ms). */
function quantity(text: string): number {
  const m = /^([\d,.]+)\s*(KiB|MiB|GiB|min|h|s|ms|chars)?$/.exec(text.trim());
  if (!m) throw new Error(`not a quantity: ${text}`);
  const n = Number(m[1]!.replace(/,/g, ''));
  const unit = { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, min: 60000, h: 3600000, s: 1000, ms: 1, chars: 1 }[m[2] ?? 'chars']!;
  return n * unit;
}

describe('docs quote the code', () => {
  it('the README options table gives every TSDoc @default literal, unchanged', () => {
    const defaults = tsdocDefaults();
    expect(defaults.size).toBeGreaterThan(15);
    for (const [key, value] of defaults) expect([key, optionRows.get(key)]).toEqual([key, value]);
  });

  it('the README options table gives the defaults the code fills in', () => {
    const row = (k: string) => Number(optionRows.get(k));
    const hb = resolveHeartbeat(undefined)!;
    expect([row('heartbeat.interval'), row('heartbeat.timeout')]).toEqual([hb.interval, hb.timeout]);
    const rc = resolveReconnect(undefined)!;
    for (const k of ['initialDelay', 'maxDelay', 'factor', 'jitter', 'maxRetries', 'stableAfter'] as const) {
      expect([k, row(`reconnect.${k}`)]).toEqual([k, rc[k]]);
    }
  });

  it("the README's example option error is the one the code throws", () => {
    const quoted = /e\.g\. `(option reconnect\.maxDelay must be [^`]+)`/.exec(README)?.[1];
    const got = /got (\S+)$/.exec(quoted ?? '')?.[1];
    expect(quoted).toBeDefined();
    expect(() => resolveReconnect({ maxDelay: Number(got) })).toThrow(quoted);
  });

  it('the welcome wait quoted in README, guide and PROTOCOL.md is the one in src/kernel.ts', () => {
    const welcome = Number(/const WELCOME = (\d+);/.exec(read('src/kernel.ts'))?.[1]);
    expect(welcome).toBeGreaterThan(0);
    for (const [name, text] of [['README', README], ['guide', GUIDE], ['PROTOCOL.md', PROTOCOL]] as const) {
      const quoted = [...text.matchAll(/min\(heartbeat\.timeout, ([\d,]+)\)/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
      expect([name, quoted.length > 0]).toEqual([name, true]);
      expect([name, [...new Set(quoted)]]).toEqual([name, [welcome]]);
    }
    expect(README).toContain(`open\` only after ${welcome / 1000} seconds`);
  });

  it('the client bounds the README and the guide quote are the code constants', () => {
    expect(MAX_HINT).toBe(quantity('10 min'));
    expect(README).toMatch(/delays a server asks for[^|]*\| 10 minutes \|/);
    const maxId = Number(/const MAX_ID = (\d+);/.exec(read('src/transports/http.ts'))?.[1]);
    expect(README).toMatch(new RegExp(`a last event id sent back to the server \\| ${maxId.toLocaleString('en')} bytes`));
    expect(GUIDE).toContain(`| \`up.offset\` frames that acknowledge nothing new | ${REPEATS} in a row |`);
  });

  it("the guide's server bounds table is DEFAULT_LIMITS, every limit listed", () => {
    const rows = new Map([...GUIDE.matchAll(/^\| `(\w+)`[^|]*\| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const));
    for (const [key, value] of Object.entries(DEFAULT_LIMITS)) {
      expect([key, rows.has(key) ? quantity(rows.get(key)!) : 'missing']).toEqual([key, value]);
    }
  });

  it("the README's summary of the server bounds matches DEFAULT_LIMITS", () => {
    const m = /message\s+size ([\d.]+ MiB), (\d+) messages\/s per connection, ([\d.]+ MiB) outbound per connection, ([\d,]+) sessions/.exec(README);
    expect(m).not.toBeNull();
    expect([quantity(m![1]!), Number(m![2]), quantity(m![3]!), quantity(m![4]!)]).toEqual([
      DEFAULT_LIMITS.maxMessageSize,
      DEFAULT_LIMITS.messageRate,
      DEFAULT_LIMITS.maxBufferedBytes,
      DEFAULT_LIMITS.maxSessions,
    ]);
  });
});
