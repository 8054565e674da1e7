// The React app (e2e/react-app/main.tsx, React's development build, StrictMode), driven through
// its DOM like a user would. The server's counters prove that StrictMode's double mount opens
// exactly one connection, that a server drop reconnects, that re-renders with new inline options
// and handlers do not, that an option change replaces the connection, and that unmount closes it.
import { assert, statsUntil, within } from '../lib.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const text = (id) => $(id)?.textContent ?? '';
const logged = (t) => [...document.querySelectorAll('[data-testid="log"] li')].some((li) => li.textContent === t);

/** Resolves once `ok()` holds, re-checking on every DOM change; bounded. */
function until(ok, what, timeout = 5000) {
  if (ok()) return Promise.resolve();
  let observer;
  const seen = new Promise((resolve) => {
    observer = new MutationObserver(() => ok() && resolve());
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return within(seen, timeout, what).finally(() => observer.disconnect());
}

/** Counts the WebSockets the page constructs (heartline looks the constructor up when connecting). */
function countSockets() {
  const Native = window.WebSocket;
  const made = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  };
  return { made, restore: () => void (window.WebSocket = Native) };
}

const closed = (ws, what) =>
  ws.readyState === 3 ? Promise.resolve() : within(new Promise((r) => ws.addEventListener('close', r, { once: true })), 5000, what);

/** Type into the app's form, submit, and wait for the echo in the app's message list. */
async function echo(t) {
  $('send').form.elements.text.value = t;
  $('send').click();
  await until(() => logged(t), `echo of '${t}'`);
}

const counters = ({ upgrades, accepted, open }) => ({ upgrades, accepted, open });

export async function reactStrict(app, ctx) {
  const sockets = countSockets();
  const mounted = app.mount(document.getElementById('root'), ctx.wsUrl('echo'));
  const seen = {};
  try {
    await until(() => text('state') === 'open', 'the first open');
    assert(mounted.mountEffects() === 2, `StrictMode is on: App's mount effect ran ${mounted.mountEffects()} times, expected 2`);
    await echo('hello after the StrictMode mount');
    seen.strictMount = counters(await ctx.stats());
    ctx.note(`after the StrictMode mount: ${JSON.stringify(seen.strictMount)}, ${sockets.made.length} constructed`);
    assert(seen.strictMount.upgrades === 1 && seen.strictMount.accepted === 1, `StrictMode mount: server saw ${JSON.stringify(seen.strictMount)}`);
    assert(sockets.made.length === 1, `StrictMode mount: ${sockets.made.length} WebSockets constructed`);

    // New inline options object and handler on every render, same content: no new connection.
    for (let i = 1; i <= 3; i++) {
      $('rerender').click();
      await until(() => text('renders') === String(i), `re-render ${i}`);
    }
    await echo('after three re-renders');
    seen.rerenders = counters(await ctx.stats());
    assert(seen.rerenders.upgrades === 1 && sockets.made.length === 1, `re-renders reconnected: ${JSON.stringify(seen.rerenders)}`);

    // The server drops the connection: the hook's connection comes back by itself.
    await ctx.control('drop', { code: 1001, reason: 'going away' });
    await ctx.waitStats({ accepted: 2 });
    await until(() => text('state') === 'open', 'open again after the drop');
    await echo('after the drop');
    seen.drop = counters(await statsUntil(ctx, (s) => s.open === 1, 'one open socket after the drop'));
    assert(seen.drop.accepted === 2 && sockets.made.length === 2, `drop: ${JSON.stringify(seen.drop)}, ${sockets.made.length} constructed`);

    // An option that matters (the URL: another room) replaces the connection and closes the old one.
    $('switch').click();
    await until(() => text('room') === 'kitchen', 'the room switch');
    await ctx.waitStats({ accepted: 3 });
    await until(() => text('state') === 'open', 'open in the new room');
    await echo('in the kitchen');
    await closed(sockets.made[1], 'the old room closes');
    seen.switch = counters(await statsUntil(ctx, (s) => s.open === 1, 'the old room closed on the server'));
    assert(sockets.made.length === 3 && /[?&]room=kitchen(&|$)/.test(sockets.made[2].url), `switch: ${sockets.made.map((s) => s.url)}`);

    // Unmount (leave the chat): the connection closes.
    $('toggle').click();
    await closed(sockets.made[2], 'unmount closes');
    seen.unmount = counters(await statsUntil(ctx, (s) => s.open === 0, 'nothing open after unmount'));
    assert(seen.unmount.accepted === 3 && sockets.made.length === 3, `unmount: ${JSON.stringify(seen.unmount)}`);
    return { react: app.react, mountEffects: mounted.mountEffects(), constructed: sockets.made.length, ...seen };
  } finally {
    mounted.unmount();
    sockets.restore();
  }
}
