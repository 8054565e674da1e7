// The README's CDN snippet, verbatim (e2e/pages/cdn.html is generated from it by scripts/sri.mjs):
// the <script integrity crossorigin> tag loads, the hash is the file's, the snippet's own code
// connects and sends, and the engine really enforces the hash (a tampered one is refused).
import { assert, Recorder, statsUntil, within } from '../lib.js';

const base64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));

/** Loads a script tag; resolves 'load' or 'error'. */
const load = (attrs) =>
  within(
    new Promise((resolve) => {
      const s = Object.assign(document.createElement('script'), attrs);
      s.onload = () => resolve('load');
      s.onerror = () => resolve('error');
      document.head.append(s);
    }),
    5000,
    `loading ${attrs.src}`,
  );

export async function cdnSri(H, ctx) {
  const tag = document.querySelector('script[integrity]');
  assert(tag && tag.getAttribute('crossorigin') === 'anonymous', "the snippet's tag has integrity and crossorigin");
  const bytes = await (await fetch(tag.src, { cache: 'no-store' })).arrayBuffer();
  const integrity = `sha384-${base64(await crypto.subtle.digest('SHA-384', bytes))}`;
  assert(tag.getAttribute('integrity') === integrity, `README integrity ${tag.getAttribute('integrity')} != ${integrity}`);
  assert(typeof H?.connect === 'function', 'the script ran and exposed the Heartline global');

  // The snippet's own code: `var conn = Heartline.connect(...)`, then conn.send({ hello: 'world' }).
  const { conn } = window;
  assert(conn && typeof conn.on === 'function', "the snippet's `conn` exists");
  await statsUntil(ctx, (s) => s.messages.includes('{"hello":"world"}'), "the snippet's send reached the server");
  const rec = new Recorder(conn, performance.now());
  try {
    if (conn.state !== 'open') await rec.wait('open');
    const since = rec.mark();
    conn.send({ n: 2 });
    await rec.wait('message', { since, where: (d) => d?.n === 2 });
  } finally {
    rec.detach();
    conn.close();
  }

  // The engine enforces the hash: with a wrong one the same file is refused and never runs.
  const saved = window.Heartline;
  window.Heartline = 'untouched';
  try {
    const outcome = await load({ src: '/dist/heartline.iife.min.js?tampered', crossOrigin: 'anonymous', integrity: `sha384-${'A'.repeat(64)}` });
    assert(outcome === 'error' && window.Heartline === 'untouched', `a wrong integrity gave '${outcome}'`);
  } finally {
    window.Heartline = saved;
  }
  return { integrity, tamperedRefused: true };
}
