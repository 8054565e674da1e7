// WebKit for the proxy scenarios: WebKitGTK's MiniBrowser through WebKitWebDriver (one driver and
// one browser per test, so every test starts with empty storage), behind a small adapter that
// offers the three Playwright page methods the scenarios use. Needs an X display (xvfb-run -a).
import { newSession, startDriver } from '../webdriver.mjs';

const DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const CALL_MS = 10000;

/** @returns {Promise<{ page: object, close(): Promise<void> }>} */
export async function openWebkitPage() {
  const driver = await startDriver(DRIVER);
  let session;
  try {
    session = await newSession(driver.base, {
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    });
  } catch (err) {
    await driver.stop();
    throw err;
  }
  const run = (fn, arg) => session.execute(`return (${fn})(arguments[0]);`, [arg ?? null], CALL_MS);
  const page = {
    on() {}, // WebDriver classic reports no page errors
    goto: (url) => session.navigate(url),
    evaluate: (fn, arg) => run(fn, arg),
    /** Polls (WebDriver classic has no push) until `fn(arg)` is truthy; throws "Timeout" after `timeout` ms. */
    async waitForFunction(fn, arg, { timeout = 30000, polling = 100 } = {}) {
      const end = Date.now() + timeout;
      for (;;) {
        const value = await run(fn, arg);
        if (value) return { jsonValue: async () => value };
        if (Date.now() > end) throw new Error(`Timeout ${timeout} ms exceeded`);
        await new Promise((r) => setTimeout(r, Math.max(100, polling)));
      }
    },
  };
  return {
    page,
    async close() {
      await session.close().catch(() => {});
      await driver.stop();
    },
  };
}
