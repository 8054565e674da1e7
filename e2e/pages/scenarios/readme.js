// The README's ESM and React usage snippets, as written (the build extracts them from README.md,
// points their `wss://example.com/...` URL at this test's echo route and bundles them against
// dist/: scripts/readme-snippets.mjs). The ESM snippet runs when its page loads and reports only
// through console.log (recorded by console-tap.js); the React snippet's <Chat room> is rendered
// under StrictMode and used through its DOM. The server's counters prove what really happened.
import { assert, statsUntil, within } from '../lib.js';

/** Resolves once `ok()` returns something truthy (checked every 20 ms); bounded. */
function until(ok, what, timeout = 5000) {
  let timer;
  const found = new Promise((resolve) => {
    const check = () => {
      const value = ok();
      if (value) resolve(value);
      else timer = setTimeout(check, 20);
    };
    check();
  });
  return within(found, timeout, what).finally(() => clearTimeout(timer));
}

const counters = ({ upgrades, accepted, open }) => ({ upgrades, accepted, open });

/**
 * README "Usage", ESM: `connect(url, { json, heartbeat })`, `on('message')`, `on('state')`,
 * `send({ hello: 'world' })` before open. Expect the logs `open …` then `got { hello: 'world' }`.
 */
export async function esmSnippet(H, ctx) {
  const log = window.__console_log;
  assert(Array.isArray(log), 'console-tap.js ran before the snippet');
  const index = (test) => log.findIndex(test);
  const opened = await until(() => index(([state]) => state === 'open') + 1, "the snippet's `open` state log");
  const got = await until(
    () => index(([tag, data]) => tag === 'got' && data?.hello === 'world' && Object.keys(data).length === 1) + 1,
    "the snippet's `got { hello: 'world' }` log",
  );
  ctx.note(`console.log: ${JSON.stringify(log)}`);
  assert(opened < got, `the echo was logged before the open state: ${JSON.stringify(log)}`);
  const states = log.filter(([first]) => ['connecting', 'open', 'reconnecting', 'closed'].includes(first)).map(([s]) => s);
  assert(!states.includes('reconnecting') && !states.includes('closed'), `unexpected states ${states}`);
  const stats = await statsUntil(ctx, (s) => s.messages.includes('{"hello":"world"}'), "the snippet's send reached the server");
  assert(stats.upgrades === 1 && stats.accepted === 1 && stats.open === 1, `one connection: ${JSON.stringify(counters(stats))}`);
  assert(stats.messages.length === 1, `the server got only the snippet's message: ${JSON.stringify(stats.messages)}`);
  return { log: log.map((args) => args.map((a) => (typeof a === 'object' ? JSON.stringify(a) : a)).join(' ')), server: counters(stats) };
}

/**
 * README "React and Vue", React: <Chat room> renders the connection state, "say hi" sends
 * `{ text: 'hi' }`, the echo is rendered as a list item; StrictMode opens one socket; unmount closes.
 */
export async function reactSnippet(app, ctx) {
  const root = document.getElementById('root');
  const mounted = app.mount(root, 'lobby');
  let unmounted = false;
  try {
    const state = () => root.querySelector('p')?.textContent ?? '';
    await until(() => state() === 'open', `the rendered state 'open' (got '${state()}')`);
    const button = root.querySelector('button');
    assert(button?.textContent === 'say hi', `the snippet's button: ${root.innerHTML}`);
    button.click();
    const items = () => [...root.querySelectorAll('ul li')].map((li) => li.textContent);
    await until(() => items().includes('hi'), "the echoed 'hi' rendered in the list");
    const stats = await statsUntil(ctx, (s) => s.messages.includes('{"text":"hi"}'), "the button's send reached the server");
    assert(stats.upgrades === 1 && stats.accepted === 1 && stats.open === 1, `StrictMode, one connection: ${JSON.stringify(counters(stats))}`);
    assert(items().length === 1 && state() === 'open', `rendered: ${root.innerHTML}`);
    const rendered = root.innerHTML;

    mounted.unmount();
    unmounted = true;
    const after = await statsUntil(ctx, (s) => s.open === 0, 'unmount closes the connection');
    assert(after.accepted === 1, `unmount: ${JSON.stringify(counters(after))}`);
    return { react: app.react, rendered, server: counters(stats), afterUnmount: counters(after) };
  } finally {
    if (!unmounted) mounted.unmount();
  }
}
