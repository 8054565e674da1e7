// The live demo (demo.html) in an iframe of the harness page, so every engine runs it, WebKit
// included (e2e/demo.spec.mjs drives it with Playwright in Chromium and Firefox, with screenshots).
// Same origin, so the scenario presses the demo's own buttons through its DOM and reads what a
// user would read: the transport, the timeline's rows, the status card, the layout boxes.
import { assert, within } from '../lib.js';

/** Resolves with `ok()`'s first truthy value (checked every 50 ms); bounded. */
function until(ok, what, timeout = 10000) {
  let timer;
  const found = new Promise((resolve) => {
    const check = () => {
      const value = ok();
      if (value) resolve(value);
      else timer = setTimeout(check, 50);
    };
    check();
  });
  return within(found, timeout, what).finally(() => clearTimeout(timer));
}

/**
 * Block WebSocket → Drop: the refused attempt is a websocket row, SSE opens. Buffering proxy →
 * Drop: the silent SSE attempt is an sse row, long-polling opens. Every row names a transport;
 * the facts do not move when the badge reads "reconnecting"; the heartbeat RTT is hidden while
 * not connected; the status card's reason is the newest state row's; the file input is wide
 * enough for its label.
 */
export async function demoFallback(H, ctx) {
  const frame = document.createElement('iframe');
  frame.style.cssText = 'width: 1280px; height: 900px; border: 0';
  frame.src = `/pages/demo.html?key=${encodeURIComponent(ctx.key)}`;
  document.body.append(frame);
  try {
    await new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
    const doc = frame.contentDocument;
    const $ = (sel) => doc.querySelector(sel);
    const text = (sel) => $(sel)?.textContent ?? '';
    const press = async (id, pressed) => {
      $(id).click();
      if (pressed !== undefined) await until(() => $(id).getAttribute('aria-pressed') === String(pressed), `${id} pressed=${pressed}`, 5000);
    };
    const rows = () => [...doc.querySelectorAll('#timeline > li')];
    const since = (n) => rows().slice(0, rows().length - n).map((r) => `${r.dataset.kind}:${r.dataset.transport}`);
    const factsBox = () => {
      const r = $('.facts').getBoundingClientRect();
      const card = $('.status').getBoundingClientRect();
      return JSON.stringify([r.x - card.x, r.y - card.y, r.width]);
    };

    await until(() => text('#state') === 'open', 'the demo opens');
    assert(text('#transport') === 'websocket', `first transport: ${text('#transport')}`);
    const openFacts = factsBox();
    const fileWidth = $('#upload-file').getBoundingClientRect().width;
    assert(fileWidth >= 200, `the file input is ${fileWidth} px wide`);

    let before = rows().length;
    await press('#btn-block-ws', true);
    $('#btn-drop').click();
    await until(() => text('#transport') === 'sse' && text('#state') === 'open', 'open via sse after Block WebSocket + Drop');
    const blocked = since(before);
    ctx.note(`Block WebSocket + Drop: ${blocked.join(' ')}`);
    assert(blocked.some((r) => /^(close|error|state|reconnecting):websocket$/.test(r)), `a websocket row for the refused attempt: ${blocked}`);

    before = rows().length;
    await press('#btn-buffering', true);
    $('#btn-drop').click();
    await until(() => text('#transport') === 'longpoll' && text('#state') === 'open', 'open via longpoll after Buffering proxy + Drop', 15000);
    const buffered = since(before);
    ctx.note(`Buffering proxy + Drop: ${buffered.join(' ')}`);
    assert(buffered.some((r) => /^(close|error|state|reconnecting):sse$/.test(r)), `an sse row for the buffered attempt: ${buffered}`);

    await press('#btn-refuse', true);
    $('#btn-drop').click();
    await until(() => text('#state') === 'reconnecting', 'reconnecting while every transport is refused', 5000);
    assert(factsBox() === openFacts, `the facts moved: ${factsBox()} vs ${openFacts}`);
    assert(text('#rtt-last') === '—' && $('#rtt-list').getBoundingClientRect().height === 0, `RTT shown while disconnected: ${text('#rtt-last')}`);
    const newest = doc.querySelector('#timeline > li:is([data-kind=state], [data-kind=reconnecting]) .detail')?.textContent;
    assert(text('#state-reason') === newest, `status card "${text('#state-reason')}" vs timeline "${newest}"`);
    const missing = rows().filter((r) => !r.dataset.transport).map((r) => r.textContent);
    assert(!missing.length, `rows without a transport: ${missing}`);

    await press('#btn-refuse', false);
    await press('#btn-buffering', false);
    await press('#btn-block-ws', false);
    await until(() => text('#state') === 'open', 'open again once every fault is lifted', 15000);
    return { blocked: blocked.length, buffered: buffered.length, fileWidth: Math.round(fileWidth) };
  } finally {
    frame.remove();
  }
}
