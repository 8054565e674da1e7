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
