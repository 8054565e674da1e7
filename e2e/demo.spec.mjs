// The live demo (e2e/pages/demo.html), driven like a newcomer would: every button, real
// timers, real sockets, against the heartline protocol route `/hl/demo` (WebSocket first, SSE and
// long-polling as fallbacks). Each test uses its own control key on the worker's fixture server
// (playwright-fixtures.mjs). "Restart server" takes that whole server down for 1.5 s, which is safe
// because a worker runs one test at a time and the test waits until the page has reconnected.
import { createHash, randomBytes } from 'node:crypto';
import { expect, test } from './playwright-fixtures.mjs';

const HEARTBEAT_DEAD = 2000 + 2000; // interval + timeout in demo.js
const MAX_DELAY = 8000; // reconnect.maxDelay in demo.js
const MiB = 1024 * 1024;

let keys = 0;
function demoKey(testInfo) {
  return `demo-${testInfo.project.name}-w${testInfo.workerIndex}-${++keys}-${Date.now().toString(36)}`;
}
function demoUrl(server, testInfo, extra = '', key = demoKey(testInfo)) {
  return new URL(`/pages/demo.html?key=${encodeURIComponent(key)}${extra}`, server.url).href;
}

/** `#opens` reaches at least n, then the state is open. At least: after a fallback (Restart, Refuse)
 * heartline moves back to WebSocket 10 s later (upgradeAfter in demo.js), which is one more open. */
async function openedAtLeast(page, n, timeout = 10_000) {
  await expect.poll(async () => Number(await page.locator('#opens').textContent()), { timeout }).toBeGreaterThanOrEqual(n);
  await expect(page.locator('#state')).toHaveText('open', { timeout: 5000 });
}
const opensNow = async (page) => Number(await page.locator('#opens').textContent());

/** Uncaught errors in the page. Firefox (WebDriver BiDi) also reports its own "can't establish a
 * connection" log line for a refused WebSocket as a page error: that one is expected here. */
function watchPage(page) {
  const pageErrors = [];
  page.on('pageerror', (err) => {
    const text = String(err?.message ?? err);
    if (/can.t establish a connection to the server at ws:/i.test(text)) return;
    pageErrors.push(text);
  });
  return pageErrors;
}

test('demo: state, heartbeat RTT, drop, kill, black-hole, restart, queue, refuse, close', async ({ page, server }, testInfo) => {
  test.setTimeout(120_000);
  const pageErrors = watchPage(page);
  await page.goto(demoUrl(server, testInfo));

  const state = page.locator('#state');
  const opens = page.locator('#opens');
  const timeline = page.locator('#timeline');
  const entries = (selector) => timeline.locator(selector);
  /** the n-th connection is open */
  const opened = async (n, timeout = 10_000) => {
    await expect(opens).toHaveText(String(n), { timeout });
    await expect(state).toHaveText('open');
  };

  await test.step('connects and shows a heartbeat round-trip', async () => {
    await opened(1);
    await expect(page.locator('#transport')).toHaveText('websocket');
    await expect(entries('[data-kind=open]')).toHaveCount(1);
    await expect(page.locator('#server-url')).toContainText('/hl/demo?key=');
    await expect(page.locator('#rtt-last')).toHaveText(/^\d+ ms$/, { timeout: HEARTBEAT_DEAD + 3000 });
    await expect(entries('[data-kind=heartbeat]').first()).toBeVisible();
    await expect(page.locator('#rtt-list li').first()).toHaveText(/^\d+$/);
  });

  await test.step('Drop: close 1012, reconnecting, open', async () => {
    await page.click('#btn-drop');
    await expect(entries('[data-kind=close][data-code="1012"]')).toHaveCount(1, { timeout: 5000 });
    await expect(entries('[data-kind=state][data-state=reconnecting]')).toHaveCount(1);
    await expect(entries('[data-kind=reconnecting]').first()).toContainText(/attempt \d+ in \d+ ms/);
    await opened(2);
    await expect(entries('[data-kind=open]').first()).toHaveAttribute('data-transport', 'websocket');
  });

  await test.step('Kill TCP: unclean close, then reopen', async () => {
    await page.click('#btn-destroy');
    await expect(entries('[data-kind=state][data-state=reconnecting]')).toHaveCount(2, { timeout: 5000 });
    await expect(entries('[data-kind=close]').first()).toHaveAttribute('data-clean', 'false');
    await opened(3);
  });

  await test.step('Black-hole: heartbeat-timeout within interval + timeout, then reopen', async () => {
    await page.click('#btn-blackhole');
    await expect(entries('[data-kind=you][data-action=blackhole] .detail')).toContainText('HTTP 200');
    await expect(entries('[data-reason="heartbeat-timeout"]').first()).toBeAttached({ timeout: HEARTBEAT_DEAD + 2000 });
    await opened(4);
  });

  await test.step('Restart server: a message sent while down is queued, then echoed after reopen', async () => {
    await page.click('#btn-restart');
    await expect(state).not.toHaveText('open', { timeout: 5000 });
    const text = `queued while down ${Date.now()}`;
    await page.fill('#message', text);
    await page.click('#btn-send');
    const sent = page.locator('#sent li').filter({ hasText: text });
    await expect(sent).toHaveAttribute('data-status', 'queued');
    // while the server is down each attempt tries WebSocket, SSE and long-polling, so the one that
    // gets through may be a fallback: the transport is whichever opened
    await opened(5, 15_000);
    await expect(page.locator('#transport')).toHaveText(/^(websocket|sse|longpoll)$/);
    await expect(sent).toHaveAttribute('data-status', 'echoed', { timeout: 5000 });
    await expect(page.locator('#received li').filter({ hasText: text })).toHaveCount(1);
    // the protocol route publishes every delivered message: the echo has an id (opaque;
    // heartline/server's in-memory log writes EPOCH-N)
    await expect(page.locator('#last-event-id')).toHaveText(/^\S+$/);
  });

  await test.step('Send while open: echoed', async () => {
    const text = `hello ${Date.now()}`;
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
    await expect(page.locator('#received li').filter({ hasText: text })).toHaveCount(1, { timeout: 5000 });
    await expect(page.locator('#sent li').filter({ hasText: text })).toHaveAttribute('data-status', 'echoed');
  });

  await test.step('Refuse new + Drop: every transport refused, retries back off; Accept lets the next one through', async () => {
    const refuse = page.locator('#btn-refuse');
    await refuse.click();
    await expect(refuse).toHaveAttribute('aria-pressed', 'true');
    await expect(refuse).toHaveText('Accept new');
    await expect(entries('[data-kind=you][data-action=refuse] .detail')).toContainText('status=500');
    const before = await entries('[data-kind=reconnecting]').count();
    const opensBefore = await opensNow(page);
    await page.click('#btn-drop');
    // the first retry after the drop is refused on all three transports, so at least two retries get scheduled
    await expect(entries('[data-kind=reconnecting]').nth(before + 1)).toBeAttached({ timeout: 10_000 });
    // the HTTP transports see the 500 (close 1011); a refused WebSocket upgrade is a plain 1006
    await expect(entries('[data-kind=close][data-code="1011"]').first()).toBeAttached();
    await expect(state).not.toHaveText('open');
    expect(await opensNow(page)).toBe(opensBefore);
    await refuse.click();
    await expect(refuse).toHaveAttribute('aria-pressed', 'false');
    await expect(refuse).toHaveText('Refuse new');
    await openedAtLeast(page, opensBefore + 1, MAX_DELAY + 5000);
  });

  await test.step('Close is final; Connect starts a new connection; Reconnect now reconnects', async () => {
    await page.click('#btn-close');
    await expect(state).toHaveText('closed', { timeout: 5000 });
    await expect(page.locator('#btn-reconnect')).toHaveText('Connect');
    await expect(page.locator('#btn-close')).toBeDisabled();
    let before = await opensNow(page);
    await page.click('#btn-reconnect');
    await openedAtLeast(page, before + 1);
    await expect(page.locator('#btn-reconnect')).toHaveText('Reconnect now');
    before = await opensNow(page);
    await page.click('#btn-reconnect');
    await openedAtLeast(page, before + 1);
  });

  expect(pageErrors).toEqual([]);
});

test('demo: works under a strict CSP with Trusted Types (?csp=1)', async ({ page, server }, testInfo) => {
  test.setTimeout(60_000);
  const pageErrors = watchPage(page);
  const cspConsole = [];
  page.on('console', (msg) => {
    if (/content.security.policy|trusted.?type|refused to/i.test(msg.text())) cspConsole.push(msg.text());
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });

  const response = await page.goto(demoUrl(server, testInfo, '&csp=1'));
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("require-trusted-types-for 'script'");

  const state = page.locator('#state');
  await expect(state).toHaveText('open', { timeout: 10_000 });
  await expect(page.locator('#rtt-last')).toHaveText(/^\d+ ms$/, { timeout: HEARTBEAT_DEAD + 3000 });

  // exercise every DOM-building path: timeline, countdown, messages, control buttons
  const text = `csp ${Date.now()}`;
  await page.fill('#message', text);
  await page.click('#btn-send');
  await expect(page.locator('#received li').filter({ hasText: text })).toHaveCount(1, { timeout: 5000 });
  await page.click('#btn-drop');
  await expect(page.locator('#opens')).toHaveText('2', { timeout: 10_000 });
  await expect(state).toHaveText('open');

  // and the upload panel: progress text, result and timeline entries
  const buffer = randomBytes(64 * 1024);
  await page.selectOption('#upload-pace', '0');
  await page.setInputFiles('#upload-file', { name: 'csp.bin', mimeType: 'application/octet-stream', buffer });
  await page.click('#btn-upload');
  await expect(page.locator('#upload-result')).toHaveAttribute('data-status', 'done', { timeout: 10_000 });
  await expect(page.locator('#upload-sha256')).toHaveText(createHash('sha256').update(buffer).digest('hex'));

  expect(await page.evaluate(() => window.__cspViolations)).toEqual([]);
  await expect(page.locator('#timeline [data-code=csp]')).toHaveCount(0);
  expect(cspConsole).toEqual([]);
  expect(pageErrors).toEqual([]);
});

test('demo: upload 5 MiB, Drop mid-upload, it resumes and the server has the same sha256', async ({ page, server }, testInfo) => {
  test.setTimeout(60_000);
  const pageErrors = watchPage(page);
  const key = demoKey(testInfo);
  await page.goto(demoUrl(server, testInfo, '', key));
  await expect(page.locator('#state')).toHaveText('open', { timeout: 10_000 });

  const buffer = randomBytes(5 * MiB);
  const sha256 = createHash('sha256').update(buffer).digest('hex');
  const progress = page.locator('#upload-progress');
  const text = page.locator('#upload-text');
  const timeline = page.locator('#timeline');

  // 2 MB/s: about 2.6 s for the file, so Drop lands mid-upload
  await page.selectOption('#upload-pace', '2');
  await page.setInputFiles('#upload-file', { name: 'five.bin', mimeType: 'application/octet-stream', buffer });
  await expect(page.locator('#btn-upload')).toBeEnabled();
  await page.click('#btn-upload');
  await expect(page.locator('#btn-abort')).toBeEnabled();

  // some bytes acknowledged, not all of them
  await expect.poll(() => progress.evaluate((p) => p.value), { timeout: 10_000 }).toBeGreaterThan(0);
  await expect(text).toHaveAttribute('data-status', 'running');
  await expect(text).toHaveText(/^sent [\d.]+ \/ acknowledged [\d.]+ of 5\.00 MiB, [\d.]+ MB\/s/);
  expect(await progress.evaluate((p) => p.value < p.max)).toBe(true);

  await page.click('#btn-drop');
  await expect(timeline.locator('[data-kind=close][data-code="1012"]')).toHaveCount(1, { timeout: 5000 });
  const resume = timeline.locator('[data-kind=upload][data-phase=resume]');
  await expect(resume).toHaveCount(1, { timeout: 10_000 });
  await expect(resume).toContainText(/upload resumes at [\d.]+ of 5\.00 MiB/);
  const offset = Number(await resume.getAttribute('data-offset'));
  expect(offset).toBeGreaterThan(0);
  expect(offset).toBeLessThan(5 * MiB);

  const result = page.locator('#upload-result');
  await expect(result).toHaveAttribute('data-status', 'done', { timeout: 20_000 });
  await expect(page.locator('#upload-status')).toHaveText('done, resumed 1×');
  await expect(page.locator('#upload-sha256')).toHaveText(sha256);
  await expect(page.locator('#upload-size')).toHaveText(`${5 * MiB} bytes`);
  await expect(text).toHaveAttribute('data-status', 'done');
  expect(await progress.evaluate((p) => p.value === p.max)).toBe(true);
  await expect(timeline.locator('[data-kind=upload][data-phase=done]')).toContainText(sha256);
  await expect(page.locator('#btn-abort')).toBeDisabled();

  // the server's own record: one upload, opened twice (start + resume), complete, same digest
  const res = await page.request.get(new URL(`/control/${encodeURIComponent(key)}/stats`, server.url).href, { timeout: 5000 });
  const { uploads } = await res.json();
  expect(uploads).toHaveLength(1);
  expect(uploads[0]).toMatchObject({ name: 'five.bin', size: 5 * MiB, received: 5 * MiB, done: true, sha256, opens: 2 });

  expect(pageErrors).toEqual([]);
});

/**
 * A screenshot of the whole page as it is now (attached to the report), and the elements a user
 * needs in it: each visible, not collapsed, and inside the window's width. Not a pixel diff.
 */
async function shot(page, testInfo, name, needed) {
  const path = testInfo.outputPath(`demo-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(`demo-${name}`, { path, contentType: 'image/png' });
  const width = page.viewportSize()?.width ?? Infinity;
  for (const selector of needed) {
    const el = page.locator(selector).first();
    await expect(el, `${name}: ${selector} visible`).toBeVisible();
    const box = await el.boundingBox();
    expect(box && box.width > 0 && box.height > 0 && box.x >= 0 && box.x + box.width <= width + 0.5, `${name}: ${selector} at ${JSON.stringify(box)}`).toBe(true);
  }
}

/** Rows of the timeline that do not name a transport (should be none). */
const rowsWithoutTransport = (page) =>
  page.locator('#timeline > li').evaluateAll((rows) => rows.filter((r) => !r.dataset.transport).map((r) => r.textContent));

/** Transports named by the timeline rows added since `since` rows existed (newest first), by kind. */
const newRows = (page, since) =>
  page.locator('#timeline > li').evaluateAll(
    (rows, n) => rows.slice(0, rows.length - n).map((r) => `${r.dataset.kind}:${r.dataset.transport}`),
    since,
  );

test('demo: fallback made visible (transport selector, Block WebSocket, Buffering proxy) and the layout of each state', async ({ page, server }, testInfo) => {
  test.setTimeout(150_000);
  const pageErrors = watchPage(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(demoUrl(server, testInfo));
  const state = page.locator('#state');
  const transport = page.locator('#transport');
  const timeline = page.locator('#timeline');
  const count = () => timeline.locator('> li').count();
  const facts = page.locator('.facts');
  /** the facts' box relative to the status card (page scrolling moves both) */
  const factsBox = () => facts.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const card = el.closest('.status').getBoundingClientRect();
    return { x: r.x - card.x, y: r.y - card.y, width: r.width };
  });

  await openedAtLeast(page, 1);
  await expect(transport).toHaveText('websocket');
  await expect(page.locator('#rtt-last')).toHaveText(/^\d+ ms$/, { timeout: HEARTBEAT_DEAD + 3000 });
  const openFacts = await factsBox();

  await test.step('open over WebSocket: every control and fact visible, the file input wide enough for its label', async () => {
    await shot(page, testInfo, 'open-websocket', ['#state', '.facts', '#transport', '#rtt-last', '#transports', '#btn-block-ws', '#btn-buffering', '#btn-drop', '#upload-file', '#btn-upload', '#timeline', '#message']);
    // "Choose file" + "No file chosen" (or the engine's words) need about 200 px; it used to get 90
    expect((await page.locator('#upload-file').boundingBox()).width).toBeGreaterThanOrEqual(200);
    expect(await rowsWithoutTransport(page)).toEqual([]);
  });

  await test.step('Block WebSocket + Drop: the refused upgrade is a websocket row, then open via SSE at once', async () => {
    await page.click('#btn-block-ws');
    await expect(page.locator('#btn-block-ws')).toHaveAttribute('aria-pressed', 'true');
    await expect(timeline.locator('[data-kind=you][data-action=block-ws] .detail')).toContainText('HTTP 200');
    const before = await count();
    await page.click('#btn-drop');
    await expect(transport).toHaveText('sse', { timeout: 10_000 });
    await expect(timeline.locator('[data-kind=open]').first()).toHaveAttribute('data-transport', 'sse');
    const rows = await newRows(page, before);
    testInfo.annotations.push({ type: 'rows after Block WebSocket + Drop', description: rows.join(' ') });
    expect(rows.some((r) => /^(close|error|state|reconnecting):websocket$/.test(r)), rows.join(' ')).toBe(true);
    expect(await rowsWithoutTransport(page)).toEqual([]);
    await expect(state).toHaveText('open');
    await shot(page, testInfo, 'open-sse', ['#state', '.facts', '#transport', '#btn-block-ws[aria-pressed=true]', '#timeline']);
  });

  await test.step('Buffering proxy + Drop: the SSE attempt stays silent, then open via long-polling', async () => {
    await page.click('#btn-buffering');
    await expect(page.locator('#btn-buffering')).toHaveAttribute('aria-pressed', 'true');
    const before = await count();
    await page.click('#btn-drop');
    await expect(transport).toHaveText('longpoll', { timeout: 15_000 });
    await expect(timeline.locator('[data-kind=open]').first()).toHaveAttribute('data-transport', 'longpoll');
    const rows = await newRows(page, before);
    testInfo.annotations.push({ type: 'rows after Buffering proxy + Drop', description: rows.join(' ') });
    expect(rows.some((r) => /^(close|error|state|reconnecting):sse$/.test(r)), rows.join(' ')).toBe(true);
    expect(await rowsWithoutTransport(page)).toEqual([]);
    await shot(page, testInfo, 'open-longpoll', ['#state', '.facts', '#transport', '#btn-buffering[aria-pressed=true]', '#timeline']);
  });

  await test.step('reconnecting: the wider badge moves no fact, the RTT is hidden, card and timeline give one reason', async () => {
    await page.click('#btn-refuse');
    await expect(page.locator('#btn-refuse')).toHaveAttribute('aria-pressed', 'true');
    const text = `queued ${Date.now()}`;
    await page.click('#btn-drop');
    await expect(state).toHaveText('reconnecting', { timeout: 5000 });
    await page.fill('#message', text);
    await page.click('#btn-send');
    await expect(page.locator('#sent li').filter({ hasText: text })).toHaveAttribute('data-status', 'queued');
    expect(await factsBox()).toEqual(openFacts);
    await expect(page.locator('#rtt-last')).toHaveText('—');
    await expect(page.locator('#rtt-stats')).toHaveText('not connected');
    await expect(page.locator('#rtt-list')).toBeHidden();
    // the status card's reason is the text of the newest state/reconnecting row, read at one instant
    await expect
      .poll(() => page.evaluate(() => {
        const row = document.querySelector('#timeline > li:is([data-kind=state], [data-kind=reconnecting])');
        return { card: document.getElementById('state-reason').textContent, row: row?.querySelector('.detail')?.textContent };
      }))
      .toEqual(expect.objectContaining({ card: expect.stringMatching(/\S/) }));
    const { card, row } = await page.evaluate(() => {
      const r = document.querySelector('#timeline > li:is([data-kind=state], [data-kind=reconnecting])');
      return { card: document.getElementById('state-reason').textContent, row: r?.querySelector('.detail')?.textContent };
    });
    expect(card).toBe(row);
    await shot(page, testInfo, 'reconnecting', ['#state', '.facts', '#countdown', '#state-reason', '#btn-refuse[aria-pressed=true]', '#sent li']);

    // lift every fault: the queued message goes out, is acknowledged and echoed, and says so
    await page.click('#btn-refuse');
    await page.click('#btn-buffering');
    await page.click('#btn-block-ws');
    await expect(page.locator('[aria-pressed=true]')).toHaveCount(0);
    await expect(state).toHaveText('open', { timeout: MAX_DELAY + 5000 });
    const sent = page.locator('#sent li').filter({ hasText: text });
    await expect(sent).toHaveAttribute('data-status', 'echoed', { timeout: 5000 });
    await expect(sent).toHaveAttribute('data-acked', 'true');
    await expect(sent.locator('.chip')).toHaveText('queued → acked → echoed');
  });

  await test.step('the transport selector: long-polling only, SSE only, then the default order', async () => {
    for (const [pick, expected] of [['longpoll', 'longpoll'], ['sse', 'sse'], ['auto', 'websocket']]) {
      const before = await count();
      await page.selectOption('#transports', pick);
      // auto: the page session remembers the fallback that worked (sessionStorage), so the new
      // connection may open on it and move back to WebSocket in the background (upgradeAfter, 10 s)
      const wait = pick === 'auto' ? 25_000 : 10_000;
      await expect(timeline.locator('[data-kind=open]').first()).toHaveAttribute('data-transport', expected, { timeout: wait });
      await expect(transport).toHaveText(expected);
      await expect(page.locator('#settings-transports')).toHaveText(pick === 'auto' ? 'websocket → sse → longpoll' : pick);
      const rows = await newRows(page, before);
      // the new connection's rows (from its connect() on; the old one's close rows name the old transport)
      const mine = rows.slice(0, rows.findIndex((r) => r.startsWith('connect:')) + 1);
      expect(mine.length, rows.join(' ')).toBeGreaterThan(1);
      if (pick !== 'auto') expect(mine.filter((r) => !r.endsWith(`:${expected}`)), rows.join(' ')).toEqual([]);
      await shot(page, testInfo, `picked-${pick}`, ['#state', '.facts', '#transports', '#timeline']);
    }
    expect(await rowsWithoutTransport(page)).toEqual([]);
  });

  await test.step('a phone-sized window: the same elements, the file input still wide enough', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, testInfo, 'narrow', ['#state', '.facts', '#btn-block-ws', '#upload-file']);
    expect((await page.locator('#upload-file').boundingBox()).width).toBeGreaterThanOrEqual(200);
  });

  expect(pageErrors).toEqual([]);
});
