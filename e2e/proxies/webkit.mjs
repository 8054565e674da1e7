// WebKit for the proxy scenarios: WebKitGTK's MiniBrowser through WebKitWebDriver (one driver and
// one browser per test, so every test starts with empty storage), behind a small adapter that
// offers the three Playwright page methods the scenarios use. Needs an X display: startXvfb().
import { spawn } from 'node:child_process';
import { newSession, startDriver } from '../webdriver.mjs';

const DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const CALL_MS = 10000;

/** @returns {Promise<{ page: object, close(): Promise<void> }>} */
export async function openWebkitPage() {
  const driver = await startDriver(DRIVER);
  // Last resort if this process exits without close(): the driver takes its browser with it.
  const kill = () => {
    try {
      process.kill(driver.pid, 'SIGTERM');
    } catch {}
  };
  process.once('exit', kill);
  let session;
  try {
    session = await newSession(driver.base, {
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    });
  } catch (err) {
    process.off('exit', kill);
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
      process.off('exit', kill);
      await driver.stop();
    },
  };
}

/**
 * An Xvfb of our own for WebKitGTK when there is no DISPLAY: `-displayfd` picks a free display
 * number and reports it. Stopped by PID (also on process exit).
 * @returns {Promise<{ display: string, stop(): Promise<void> }>}
 */
export async function startXvfb(bin = '/usr/bin/Xvfb') {
  const child = spawn(bin, ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x1024x24'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  process.once('exit', kill);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const display = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb reported no display in 10 s: ${stderr}`)), 10000);
    child.once('error', (err) => (clearTimeout(timer), reject(err)));
    child.once('exit', () => (clearTimeout(timer), reject(new Error(`Xvfb exited: ${stderr}`))));
    child.stdio[3].on('data', (d) => {
      out += d;
      if (out.includes('\n')) clearTimeout(timer), resolve(`:${out.trim()}`);
    });
  }).catch((err) => {
    kill();
    throw err;
  });
  return {
    display,
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
