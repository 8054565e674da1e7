// The live demo page (e2e/pages/demo.html), driven like a newcomer would: every button, real
// timers, real sockets. Each test uses its own control key on the worker's fixture server
// (playwright-fixtures.mjs). "Restart server" takes that whole server down for 1.5 s, which is safe
// because a worker runs one test at a time and the test waits until the page has reconnected.
import { expect, test } from './playwright-fixtures.mjs';

const HEARTBEAT_DEAD = 2000 + 2000; // interval + timeout in demo.js
const MAX_DELAY = 8000; // reconnect.maxDelay in demo.js

let keys = 0;
function demoUrl(server, testInfo, extra = '') {
  const key = `demo-${testInfo.project.name}-w${testInfo.workerIndex}-${++keys}-${Date.now().toString(36)}`;
  return new URL(`/pages/demo.html?key=${encodeURIComponent(key)}${extra}`, server.url).href;
}

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
    await opened(5, 15_000);
    await expect(sent).toHaveAttribute('data-status', 'echoed', { timeout: 5000 });
    await expect(page.locator('#received li').filter({ hasText: text })).toHaveCount(1);
  });

  await test.step('Send while open: echoed', async () => {
    const text = `hello ${Date.now()}`;
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
    await expect(page.locator('#received li').filter({ hasText: text })).toHaveCount(1, { timeout: 5000 });
    await expect(page.locator('#sent li').filter({ hasText: text })).toHaveAttribute('data-status', 'echoed');
  });

  await test.step('Refuse upgrades + Drop: retries back off; Accept lets the next one through', async () => {
    const refuse = page.locator('#btn-refuse');
    await refuse.click();
    await expect(refuse).toHaveAttribute('aria-pressed', 'true');
    await expect(refuse).toHaveText('Accept upgrades');
    const before = await entries('[data-kind=reconnecting]').count();
    await page.click('#btn-drop');
    // the first retry after the drop is refused, so at least two retries get scheduled
    await expect(entries('[data-kind=reconnecting]').nth(before + 1)).toBeAttached({ timeout: 10_000 });
    await expect(state).not.toHaveText('open');
    await expect(opens).toHaveText('5');
    await refuse.click();
    await expect(refuse).toHaveAttribute('aria-pressed', 'false');
    await opened(6, MAX_DELAY + 5000);
  });

  await test.step('Close is final; Connect starts a new connection; Reconnect now reconnects', async () => {
    await page.click('#btn-close');
    await expect(state).toHaveText('closed', { timeout: 5000 });
    await expect(page.locator('#btn-reconnect')).toHaveText('Connect');
    await expect(page.locator('#btn-close')).toBeDisabled();
    await page.click('#btn-reconnect');
    await opened(7);
    await expect(page.locator('#btn-reconnect')).toHaveText('Reconnect now');
    await page.click('#btn-reconnect');
    await opened(8);
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

  expect(await page.evaluate(() => window.__cspViolations)).toEqual([]);
  await expect(page.locator('#timeline [data-code=csp]')).toHaveCount(0);
  expect(cspConsole).toEqual([]);
  expect(pageErrors).toEqual([]);
});
